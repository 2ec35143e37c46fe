package dev.gradus.io;

import dev.gradus.Tensor;
import dev.gradus.nn.Module;
import dev.gradus.optim.LRScheduler;
import dev.gradus.optim.Optimizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Everything training needs to go on where it stopped, in one safetensors file written atomically: the model's
 * parameters and buffers ({@code model.*}), the optimizer's state ({@code optimizer.*}, with its step count and
 * rate) and the schedule's position and base rate. Resuming gives the same losses as not stopping.
 *
 * <pre>{@code
 * Checkpoint.save(Path.of("ckpt.safetensors"), model, opt, schedule);   // schedule may be null
 * Checkpoint.load(Path.of("ckpt.safetensors"), model, opt, schedule);   // same architecture and classes
 * }</pre>
 *
 * <p>A load checks the whole file first (every tensor's name, shape and dtype, the optimizer's state, the step
 * count, the schedule's values) and changes nothing when any check fails.
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** Choices for {@link #load(Path, Module, Optimizer, LRScheduler, Option...)}. */
    public enum Option {
        /**
         * Accept a checkpoint past step 0 that holds no optimizer state (a converted model, say): the optimizer
         * then starts afresh (step 0, zero moments), as PyTorch does with an empty state. Without it such a file is
         * refused, since resuming Adam with zero moments silently changes the training.
         */
        FRESH_OPTIMIZER_STATE
    }

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
     * Everything is checked before anything is changed: a refused file leaves the model, the optimizer and the
     * schedule as they were.
     *
     * @throws ModelFormatException if the file is not a Gradus checkpoint or is corrupt: a tensor that is not F32,
     *     optimizer state that does not fit the parameters, a missing or malformed step count, rate or schedule
     *     value, or (without {@link Option#FRESH_OPTIMIZER_STATE}) no optimizer state past step 0
     * @throws IllegalArgumentException naming what differs: the architecture (every tensor that does not fit), the
     *     optimizer's or the schedule's class
     */
    public static void load(Path file, Module model, Optimizer opt, LRScheduler schedule, Option... options)
            throws IOException {
        String name = file.toString();
        boolean fresh = Arrays.asList(options).contains(Option.FRESH_OPTIMIZER_STATE);
        Safetensors.Contents c = Safetensors.read(file);
        Map<String, String> meta = c.metadata();
        if (!"1".equals(meta.get("gradus.checkpoint"))) {
            throw new ModelFormatException(
                    name, "not a Gradus checkpoint (a model file? load it with" + " Safetensors.load)");
        }
        String optClass = opt.getClass().getSimpleName();
        String schedClass = schedule == null ? "none" : schedule.getClass().getSimpleName();
        if (!optClass.equals(meta.get("optimizer")) || !schedClass.equals(meta.get("scheduler"))) {
            throw new IllegalArgumentException(file + " was saved with optimizer " + meta.get("optimizer")
                    + " and scheduler " + meta.get("scheduler") + ", not " + optClass + " and " + schedClass);
        }
        Map<String, float[]> state = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        for (Safetensors.Entry e : c.tensors().values()) {
            if (!e.dtype().equals("F32")) {
                throw new ModelFormatException(
                        name, "tensor '" + e.name() + "' is " + e.dtype() + "; a checkpoint holds F32 tensors only");
            }
            if (e.name().startsWith("optimizer.")) {
                String k = e.name().substring("optimizer.".length());
                state.put(k, e.values());
                shapes.put(k, e.shape());
            } else if (!e.name().startsWith("model.")) {
                throw new ModelFormatException(
                        name, "tensor '" + e.name() + "' is neither a model.* nor an optimizer.* tensor");
            }
        }
        long steps = steps(name, meta.get("optimizer.steps"));
        float lr = rate(name, meta.get("optimizer.lr"));
        try {
            opt.checkRestore(state, shapes, steps, lr, !fresh);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(
                    name,
                    e.getMessage()
                            + (e.getMessage().contains("is missing")
                                    ? " (Checkpoint.Option.FRESH_OPTIMIZER_STATE accepts that)"
                                    : ""));
        }
        Safetensors.Plan modelLoad = Safetensors.plan(model, c, "model.", name, true);
        if (schedule != null) {
            Map<String, String> s = new LinkedHashMap<>();
            meta.forEach((k, v) -> {
                if (k.startsWith("scheduler.")) {
                    s.put(k.substring("scheduler.".length()), v);
                }
            });
            try {
                schedule.restore(s); // checks every value before it sets any: the first change
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(name, e.getMessage());
            }
        }
        modelLoad.apply().run();
        opt.restore(state, shapes, steps, lr, !fresh);
    }

    private static long steps(String file, String v) throws ModelFormatException {
        return parsed(file, "optimizer.steps", v, Long::parseLong, n -> n >= 0, "a step count >= 0");
    }

    private static float rate(String file, String v) throws ModelFormatException {
        return parsed(
                file,
                "optimizer.lr",
                v,
                Float::parseFloat,
                r -> r >= 0 && !r.isInfinite(),
                "a finite learning rate >= 0");
    }

    /** Metadata {@code key}'s value {@code v} parsed, when it parses to a value {@code valid} accepts. */
    private static <T> T parsed(
            String file, String key, String v, Function<String, T> parse, Predicate<T> valid, String expected)
            throws ModelFormatException {
        if (v != null) {
            try {
                T x = parse.apply(v.trim());
                if (valid.test(x)) {
                    return x;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
        }
        throw new ModelFormatException(
                file,
                "metadata '" + key + "' is " + (v == null ? "missing" : "'" + clip(v) + "'") + ", not " + expected);
    }

    private static String clip(String v) {
        return v.length() > 40 ? v.substring(0, 40) + "..." : v;
    }
}
