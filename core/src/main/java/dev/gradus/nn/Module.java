package dev.gradus.nn;

import dev.gradus.Backends;
import dev.gradus.Device;
import dev.gradus.GradMode;
import dev.gradus.Scope;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * A layer or a model: parameters, buffers, child modules and a forward pass, as PyTorch's {@code nn.Module}.
 *
 * <p>Parameter names follow PyTorch ({@code 0.weight}, {@code 1.running_mean}) so weights can be exchanged.
 *
 * <pre>{@code
 * Module model = new Sequential(new Dense(784, 48), new ReLU(), new Dense(48, 10));
 * Tensor logits = model.forward(x);   // [N, 784] -> [N, 10]
 * }</pre>
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Parameter> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private boolean closed;

    /** Computes this module's output. */
    public abstract Tensor forward(Tensor x);

    /** The output shape for an input shape, without computing anything (for summaries and checks). */
    public Shape outputShape(Shape input) {
        return input;
    }

    /** Registers a trainable parameter under {@code name}; takes ownership of {@code init}'s memory. */
    protected Parameter registerParameter(String name, Tensor init) {
        Parameter p = init instanceof Parameter q ? q : new Parameter(init);
        if (p != init) {
            init.close();
        }
        params.put(name, p);
        return p;
    }

    /** Registers a non-trainable state tensor (running statistics) under {@code name}. */
    protected Tensor registerBuffer(String name, Tensor value) {
        buffers.put(name, value);
        return value;
    }

    /** Registers a child module under {@code name}. */
    protected <M extends Module> M registerModule(String name, M module) {
        children.put(name, module);
        return module;
    }

    /** Direct children by name, those held in fields included (see {@link #namedParameters()}). */
    public Map<String, Module> children() {
        discoverFields();
        return Collections.unmodifiableMap(children);
    }

    /**
     * Every parameter of this module and its descendants, with dotted PyTorch-style names, each once: a parameter
     * or module reachable under two names (tied weights, a shared encoder) appears under the first.
     *
     * <p>Besides what {@link #registerParameter} and {@link #registerModule} registered, a {@code Module} or
     * {@code Parameter} held in a field of a subclass is registered under the field's name the first time it is
     * seen, as PyTorch does on attribute assignment (lists of modules still need {@code registerModule} or a
     * {@link Sequential}).
     */
    public Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect(
                "",
                out,
                m -> m.params,
                Collections.newSetFromMap(new IdentityHashMap<>()),
                Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    /** Every buffer of this module and its descendants, with dotted names, each once. */
    public Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect(
                "",
                out,
                m -> m.buffers,
                Collections.newSetFromMap(new IdentityHashMap<>()),
                Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    /** Adds {@code own}'s entries of this module, then of its children, each value once, each module once. */
    private <T> void collect(
            String prefix,
            Map<String, T> out,
            Function<Module, Map<String, T>> own,
            Set<Object> seen,
            Set<Module> visited) {
        if (!visited.add(this)) {
            return;
        }
        discoverFields();
        own.apply(this).forEach((k, v) -> {
            if (seen.add(v)) {
                out.put(prefix + k, v);
            }
        });
        children.forEach((k, m) -> m.collect(prefix + k + ".", out, own, seen, visited));
    }

    /** Per module class: its (and its superclasses', below Module) fields that can hold a Module or Parameter. */
    private static final ClassValue<List<Field>> MODULE_FIELDS = new ClassValue<>() {
        @Override
        protected List<Field> computeValue(Class<?> type) {
            List<Field> fields = new ArrayList<>();
            for (Class<?> c = type; c != null && c != Module.class; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    Class<?> t = f.getType();
                    boolean holdsModule = Module.class.isAssignableFrom(t)
                            || Parameter.class.isAssignableFrom(t)
                            || t == Object.class
                            || t == Tensor.class;
                    if (!Modifier.isStatic(f.getModifiers()) && !f.isSynthetic() && holdsModule) {
                        try {
                            f.setAccessible(true);
                        } catch (RuntimeException e) { // InaccessibleObjectException: a package not opened to us
                            if (Module.class.isAssignableFrom(t) || Parameter.class.isAssignableFrom(t)) {
                                throw new IllegalStateException(
                                        type.getName() + "." + f.getName() + " holds a "
                                                + t.getSimpleName()
                                                + " that Gradus cannot read (its package is not open to"
                                                + " dev.gradus.core): register it with registerModule/registerParameter in"
                                                + " the constructor, or open the package",
                                        e);
                            }
                            continue;
                        }
                        fields.add(f);
                    }
                }
            }
            return List.copyOf(fields);
        }
    };

    /** Registers the modules and parameters held in this module's fields that are not registered yet. */
    private void discoverFields() {
        List<Field> fields = MODULE_FIELDS.get(getClass());
        if (fields.isEmpty()) {
            return;
        }
        for (Field f : fields) {
            Object v;
            try {
                v = f.get(this);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot read " + getClass().getName() + "." + f.getName(), e);
            }
            if (v instanceof Parameter p && !containsValue(params, p)) {
                params.put(freeName(params, f.getName()), p);
            } else if (v instanceof Module m && m != this && !containsValue(children, m)) {
                children.put(freeName(children, f.getName()), m);
            }
        }
    }

    private static boolean containsValue(Map<String, ?> map, Object v) {
        for (Object o : map.values()) {
            if (o == v) {
                return true;
            }
        }
        return false;
    }

    private static String freeName(Map<String, ?> map, String name) {
        String n = name;
        for (int i = 1; map.containsKey(n); i++) {
            n = name + "_" + i;
        }
        return n;
    }

    /** Every parameter, in registration order. */
    public List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Number of scalar parameters. */
    public long parameterCount() {
        long n = 0;
        for (Parameter p : parameters()) {
            n += p.numel();
        }
        return n;
    }

    /** Switches this module and its children to training mode (dropout active, batch statistics). */
    public Module train() {
        setTraining(true);
        return this;
    }

    /** Switches this module and its children to evaluation mode. */
    public Module eval() {
        setTraining(false);
        return this;
    }

    private void setTraining(boolean value) {
        setTraining(value, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    private void setTraining(boolean value, Set<Module> visited) {
        if (visited.add(this)) {
            training = value;
            children().values().forEach(m -> m.setTraining(value, visited));
        }
    }

    /** True in training mode. */
    public boolean isTraining() {
        return training;
    }

    /** Zeroes every parameter's gradient. */
    public void zeroGrad() {
        parameters().forEach(Tensor::zeroGrad);
    }

    /**
     * Number of scalar values in buffers (running statistics): Keras' "non-trainable params". Batch norm's
     * {@code num_batches_tracked} counter, which Keras does not have, is left out.
     */
    public long bufferCount() {
        long n = 0;
        for (Map.Entry<String, Tensor> e : namedBuffers().entrySet()) {
            if (!isBatchCounter(e.getKey())) {
                n += e.getValue().numel();
            }
        }
        return n;
    }

    /** True for the name (or dotted path) of batch norm's {@code num_batches_tracked} buffer. */
    public static boolean isBatchCounter(String name) {
        return name.equals(BatchNorm.NUM_BATCHES_TRACKED) || name.endsWith("." + BatchNorm.NUM_BATCHES_TRACKED);
    }

    /**
     * A table like Keras' {@code model.summary()} and torchinfo's: one row per layer call with its real output
     * shape and parameter count, then the totals (buffers such as running statistics count as non-trainable).
     *
     * <p>The shapes come from one forward pass over zeros of shape {@code input}, in evaluation mode and without a
     * graph (running statistics, dropout draws and every module's mode are left as they were), so a module of
     * your own that calls its children's {@code forward} is listed layer by layer. A module of your own with no
     * children reports its output when its {@code forward} returns {@link #traced}; one that does not is listed
     * with {@code ?} as its shape.
     *
     * <pre>{@code System.out.print(model.summary(Shape.of(1, 784)));}</pre>
     */
    public String summary(Shape input) {
        Map<Module, String> names = new IdentityHashMap<>();
        nameModules("", names);
        Map<Module, Boolean> modes = new IdentityHashMap<>();
        names.keySet().forEach(m -> modes.put(m, m.training));
        List<SummaryTrace.Call> calls;
        try (GradMode noGrad = GradMode.noGrad();
                Scope scope = Scope.open()) {
            Tensor x = zerosLikeParameters(input);
            names.keySet().forEach(m -> m.training = false);
            calls = SummaryTrace.run(() -> forward(x));
        } finally {
            modes.forEach((m, t) -> m.training = t);
        }
        List<String[]> rows = new ArrayList<>();
        Set<Module> reported = Collections.newSetFromMap(new IdentityHashMap<>());
        for (SummaryTrace.Call c : calls) {
            reported.add(c.module());
            rows.add(row(
                    names.getOrDefault(c.module(), "?"), c.module(), c.output().toString()));
        }
        boolean unknown = false;
        for (Map.Entry<Module, String> e : names.entrySet()) {
            Module m = e.getKey();
            boolean leaf = m.children.isEmpty();
            // A layer that did not report ("?"), or a container's own weights ("-": a class token, a positional
            // embedding; they would be in no row).
            if (!reported.contains(m) && leaf) {
                rows.add(row(e.getValue(), m, "?"));
                unknown = true;
            } else if (!reported.contains(m) && (!m.params.isEmpty() || !m.buffers.isEmpty())) {
                rows.add(row(e.getValue(), m, "-"));
            }
        }
        int w0 = "Layer (type)".length();
        int w1 = "Output Shape".length();
        for (String[] r : rows) {
            w0 = Math.max(w0, r[0].length());
            w1 = Math.max(w1, r[1].length());
        }
        String fmt = "%-" + (w0 + 2) + "s%-" + (w1 + 2) + "s%12s%n";
        String rule = "=".repeat(w0 + w1 + 16) + "\n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(fmt, "Layer (type)", "Output Shape", "Param #")).append(rule);
        for (String[] r : rows) {
            sb.append(String.format(fmt, r[0], r[1], r[2]));
        }
        long trainable = parameterCount();
        long fixed = bufferCount();
        sb.append(rule);
        sb.append(String.format("Total params: %,d%n", trainable + fixed));
        sb.append(String.format("Trainable params: %,d%n", trainable));
        sb.append(String.format("Non-trainable params: %,d%n", fixed));
        if (unknown) {
            sb.append("?: output not reported (a module's forward reports it by returning traced(output))\n");
        }
        return sb.toString();
    }

    /**
     * Returns {@code output} after noting it for a {@link #summary} in progress on this thread; the built-in
     * layers end their {@code forward} with it, and a module of your own with no child modules may too.
     *
     * <pre>{@code public Tensor forward(Tensor x) { return traced(x.mul(scale)); }}</pre>
     */
    protected final Tensor traced(Tensor output) {
        SummaryTrace.record(this, output.shape());
        return output;
    }

    /** Own parameters and buffers count in a row; a container's own row would repeat its children's. */
    private static String[] row(String name, Module m, String shape) {
        long own = 0;
        if (m.children.isEmpty()) {
            own = m.parameterCount() + m.bufferCount();
        } else {
            for (Tensor p : m.params.values()) {
                own += p.numel();
            }
            for (Map.Entry<String, Tensor> b : m.buffers.entrySet()) {
                own += isBatchCounter(b.getKey()) ? 0 : b.getValue().numel();
            }
        }
        return new String[] {(name.isEmpty() ? "" : name + " ") + m.describe(), shape, String.format("%,d", own)};
    }

    /** Dotted names of this module and its descendants, each module once, in registration order. */
    private void nameModules(String name, Map<Module, String> out) {
        if (out.containsKey(this)) {
            return;
        }
        discoverFields();
        out.put(this, name);
        children.forEach((k, m) -> m.nameModules(name.isEmpty() ? k : name + "." + k, out));
    }

    /** Zeros of {@code shape} on the backend holding this model's parameters (the default one if it has none). */
    private Tensor zerosLikeParameters(Shape shape) {
        for (Parameter p : parameters()) {
            return Tensor.zeros(p.backend(), shape.dims());
        }
        for (Tensor b : namedBuffers().values()) {
            return Tensor.zeros(b.backend(), shape.dims());
        }
        return Tensor.zeros(shape.dims());
    }

    /**
     * Moves this module's parameters and buffers, and its descendants', to {@code device} in place and returns this
     * module, as PyTorch's {@code model.to(device)}: values are copied unchanged, the old tensors are released, and
     * fields holding them (directly, or in records, lists and arrays) point at the new ones. Gradients are not
     * carried; make the optimizer after moving (it would hold the released tensors).
     *
     * <pre>{@code Module model = new Sequential(new Dense(784, 10)).to(Device.of("cuda"));}</pre>
     *
     * @throws IllegalStateException when the device's backend is missing or cannot run (see {@link Backends#of})
     */
    public Module to(Device device) {
        Backends.of(device); // fails before anything moves when the device cannot be had
        Map<Tensor, Tensor> moved = new IdentityHashMap<>();
        Set<Module> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        moveTo(device, moved, visited);
        for (Module m : visited) { // after every move, so a field may hold another module's tensor
            FieldRewrite.apply(m, moved);
        }
        moved.keySet().forEach(Tensor::close);
        return this;
    }

    private void moveTo(Device target, Map<Tensor, Tensor> moved, Set<Module> visited) {
        if (!visited.add(this)) {
            return;
        }
        if (closed) {
            throw new IllegalStateException(describe() + ": to() on a closed module");
        }
        discoverFields();
        params.replaceAll((k, p) -> (Parameter) moveOne(p, target, moved));
        buffers.replaceAll((k, b) -> moveOne(b, target, moved));
        for (Module m : children.values()) {
            m.moveTo(target, moved, visited);
        }
    }

    /** {@code t} on {@code target}: itself when already there, else its copy (a parameter's is a parameter). */
    private static Tensor moveOne(Tensor t, Device target, Map<Tensor, Tensor> moved) {
        Tensor done = moved.get(t);
        if (done != null) {
            return done;
        }
        Tensor copy = t.to(target);
        if (copy == t) {
            return t;
        }
        Tensor n = t instanceof Parameter ? new Parameter(copy) : copy.persist(); // neither is a scope's
        if (n != copy) {
            copy.close();
        }
        if (t instanceof Parameter && !t.requiresGrad()) {
            n.requiresGrad(false); // a frozen parameter stays frozen
        }
        moved.put(t, n);
        return n;
    }

    /** Display name for summaries, e.g. {@code Dense(784 -> 48)}. */
    public String describe() {
        return getClass().getSimpleName();
    }

    /**
     * Releases parameters and buffers of this module and its children.
     *
     * @throws IllegalStateException when closed twice
     */
    @Override
    public void close() {
        if (closed) {
            throw new IllegalStateException(describe() + ": module already closed");
        }
        closeOnce(Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    /** Closes each parameter, buffer and module reachable from here once (shared ones are reached twice). */
    private void closeOnce(Set<Object> done) {
        if (!done.add(this)) {
            return;
        }
        discoverFields();
        closed = true;
        for (Tensor t : params.values()) {
            if (done.add(t)) {
                t.close();
            }
        }
        for (Tensor t : buffers.values()) {
            if (done.add(t)) {
                t.close();
            }
        }
        for (Module m : children.values()) {
            if (!m.closed) {
                m.closeOnce(done);
            }
        }
    }

    /**
     * The module tree, as PyTorch's {@code repr}: a leaf is its {@link #describe() description}, a module with
     * children lists each as {@code (name): child}, indented two spaces a level:
     *
     * <pre>
     * Sequential(
     *   (0): Dense(784 -&gt; 48)
     *   (1): ReLU()
     *   (2): Dense(48 -&gt; 10)
     * )</pre>
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        tree(sb, "", Collections.newSetFromMap(new IdentityHashMap<>()));
        return sb.toString();
    }

    private void tree(StringBuilder sb, String indent, Set<Module> path) {
        String d = describe();
        Map<String, Module> kids = children();
        if (kids.isEmpty() || !path.add(this)) {
            sb.append(d.endsWith(")") ? d : d + "()");
            return;
        }
        // A container's own description ("Sequential(3 layers)") gives way to its children, as in PyTorch.
        sb.append(getClass().getSimpleName()).append("(\n");
        for (Map.Entry<String, Module> e : kids.entrySet()) {
            sb.append(indent).append("  (").append(e.getKey()).append("): ");
            e.getValue().tree(sb, indent + "  ", path);
            sb.append('\n');
        }
        sb.append(indent).append(')');
        path.remove(this);
    }
}
