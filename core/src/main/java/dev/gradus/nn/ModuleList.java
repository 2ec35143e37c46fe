package dev.gradus.nn;

import dev.gradus.Tensor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Holds modules in a list, registered as children {@code "0"}, {@code "1"}, ... so their parameters are the
 * model's (PyTorch's {@code nn.ModuleList}); unlike {@link Sequential} it has no forward of its own: the model that
 * holds it decides how its modules run.
 *
 * <pre>{@code
 * ModuleList blocks = registerModule("blocks", new ModuleList());
 * for (int i = 0; i < 4; i++) blocks.add(new Dense(64, 64));
 * for (Module b : blocks) h = b.forward(h).relu();
 * }</pre>
 */
public class ModuleList extends Module implements Iterable<Module> {
    private final List<Module> modules = new ArrayList<>();

    /** A list of {@code modules} in order. */
    public ModuleList(Module... modules) {
        for (Module m : modules) {
            add(m);
        }
    }

    /** Appends a module. */
    public ModuleList add(Module m) {
        if (m == null) {
            throw new IllegalArgumentException("ModuleList: cannot add null");
        }
        registerModule(Integer.toString(modules.size()), m);
        modules.add(m);
        return this;
    }

    /** Module {@code i}, counting from 0 (negative from the end, as in Python). */
    public Module get(int i) {
        int at = i < 0 ? i + modules.size() : i;
        if (at < 0 || at >= modules.size()) {
            throw new IndexOutOfBoundsException("ModuleList: index " + i + " of " + modules.size() + " modules");
        }
        return modules.get(at);
    }

    /** Number of modules. */
    public int size() {
        return modules.size();
    }

    @Override
    public Iterator<Module> iterator() {
        return List.copyOf(modules).iterator();
    }

    /** Not callable, as in PyTorch: the model holding the list runs its modules. */
    @Override
    public Tensor forward(Tensor x) {
        throw new UnsupportedOperationException(
                "ModuleList has no forward: call its modules from the forward of the model that holds it");
    }
}
