package dev.gradus.io;

import dev.gradus.Tensor;
import dev.gradus.nn.Module;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.Optimizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Everything training needs to go on where it stopped, in one safetensors file written atomically: the model's
 * parameters and buffers ({@code model.*}), the optimizer's state ({@code optimizer.*}, with its step count and
 * rate) and the schedule's position. Resuming gives the same losses as not stopping.
 *
 * <pre>{@code
 * Checkpoint.save(Path.of("ckpt.safetensors"), model, opt, schedule);   // schedule may be null
 * Checkpoint.load(Path.of("ckpt.safetensors"), model, opt, schedule);   // same architecture and classes
 * }</pre>
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** Writes the checkpoint; {@code schedule} may be null. */
    public static void save(Path file, Module model, Optimizer opt, LRScheduler schedule) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.namedParameters().forEach((k, t) -> tensors.put("model." + k, t));
        model.namedBuffers().forEach((k, t) -> tensors.put("model." + k, t));
        opt.state().forEach((k, t) -> tensors.put("optimizer." + k, t));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("gradus.checkpoint", "1");
        meta.put("gradus.architecture", Safetensors.architecture(model));
        meta.put("optimizer", opt.getClass().getSimpleName());
        meta.put("optimizer.steps", Long.toString(opt.steps()));
        meta.put("optimizer.lr", Float.toString(opt.lr()));
        meta.put("scheduler", schedule == null ? "none" : schedule.getClass().getSimpleName());
        if (schedule != null) {
            schedule.state().forEach((k, v) -> meta.put("scheduler." + k, v));
        }
        Safetensors.write(file, tensors, meta);
    }

    /**
     * Restores a checkpoint into {@code model}, {@code opt} and {@code schedule} (null if it was saved without).
     *
     * @throws ModelFormatException if the file is not a Gradus checkpoint or is corrupt
     * @throws IllegalArgumentException naming what differs: the architecture (every tensor that does not fit), the
     *     optimizer's or the schedule's class (checked before anything is changed)
     */
    public static void load(Path file, Module model, Optimizer opt, LRScheduler schedule) throws IOException {
        Safetensors.Contents c = Safetensors.read(file);
        Map<String, String> meta = c.metadata();
        if (!"1".equals(meta.get("gradus.checkpoint"))) {
            throw new ModelFormatException(
                    file.toString(), "not a Gradus checkpoint (a model file? load it with" + " Safetensors.load)");
        }
        String optClass = opt.getClass().getSimpleName();
        String schedClass = schedule == null ? "none" : schedule.getClass().getSimpleName();
        if (!optClass.equals(meta.get("optimizer")) || !schedClass.equals(meta.get("scheduler"))) {
            throw new IllegalArgumentException(file + " was saved with optimizer " + meta.get("optimizer")
                    + " and scheduler " + meta.get("scheduler") + ", not " + optClass + " and " + schedClass);
        }
        Safetensors.loadInto(model, c, "model.", file.toString(), true);
        Map<String, float[]> state = new LinkedHashMap<>();
        c.tensors().forEach((k, e) -> {
            if (k.startsWith("optimizer.")) {
                state.put(k.substring("optimizer.".length()), e.values());
            }
        });
        opt.restore(state, Long.parseLong(meta.get("optimizer.steps")), Float.parseFloat(meta.get("optimizer.lr")));
        if (schedule != null) {
            Map<String, String> s = new LinkedHashMap<>();
            meta.forEach((k, v) -> {
                if (k.startsWith("scheduler.")) {
                    s.put(k.substring("scheduler.".length()), v);
                }
            });
            schedule.restore(s);
        }
    }
}
