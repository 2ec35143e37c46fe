package dev.gradus.nn;

import dev.gradus.Tensor;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.List;
import java.util.Map;

/**
 * Points a module's fields at the replacements of the tensors they hold, for {@link Module#to}: a tensor field
 * directly, and tensors inside records (rebuilt), mutable lists and arrays held in fields.
 *
 * <p>{@code FieldRewrite.apply(dense, Map.of(oldWeight, newWeight))} leaves {@code dense.weight()} the new one.
 */
final class FieldRewrite {
    private static final int MAX_DEPTH = 4;

    private FieldRewrite() {}

    /** Rewrites every field of {@code module}'s classes below {@link Module} that holds a replaced tensor. */
    static void apply(Module module, Map<Tensor, Tensor> moved) {
        for (Class<?> c = module.getClass(); c != null && c != Module.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive() || f.isSynthetic()) {
                    continue;
                }
                try {
                    f.setAccessible(true);
                } catch (RuntimeException e) { // a package not opened to Gradus: only registered tensors move
                    continue;
                }
                try {
                    Object v = f.get(module);
                    Object r = replace(v, moved, 0, c, f);
                    if (r != v) {
                        f.set(module, r);
                    }
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("to: cannot rewrite " + c.getName() + "." + f.getName(), e);
                }
            }
        }
    }

    private static Object replace(Object v, Map<Tensor, Tensor> moved, int depth, Class<?> owner, Field f) {
        if (v == null || v instanceof Module || depth > MAX_DEPTH) {
            return v;
        }
        if (v instanceof Tensor t) {
            Tensor n = moved.get(t);
            return n != null ? n : v;
        }
        if (v instanceof Record r) {
            return rebuild(r, moved, depth, owner, f);
        }
        if (v instanceof List<?> list) {
            @SuppressWarnings("unchecked")
            List<Object> l = (List<Object>) list;
            for (int i = 0; i < l.size(); i++) {
                Object e = l.get(i);
                Object n = replace(e, moved, depth + 1, owner, f);
                if (n != e) {
                    try {
                        l.set(i, n);
                    } catch (UnsupportedOperationException x) {
                        throw new IllegalStateException(
                                "to: " + owner.getName() + "." + f.getName()
                                        + " holds a moved tensor in an unmodifiable list; register it instead",
                                x);
                    }
                }
            }
            return v;
        }
        if (v instanceof Object[] a) {
            for (int i = 0; i < a.length; i++) {
                a[i] = replace(a[i], moved, depth + 1, owner, f);
            }
        }
        return v;
    }

    private static Object rebuild(Record r, Map<Tensor, Tensor> moved, int depth, Class<?> owner, Field f) {
        RecordComponent[] parts = r.getClass().getRecordComponents();
        Object[] values = new Object[parts.length];
        Class<?>[] types = new Class<?>[parts.length];
        boolean changed = false;
        try {
            for (int i = 0; i < parts.length; i++) {
                types[i] = parts[i].getType();
                var accessor = parts[i].getAccessor();
                accessor.setAccessible(true);
                Object old = accessor.invoke(r);
                values[i] = types[i].isPrimitive() ? old : replace(old, moved, depth + 1, owner, f);
                changed |= values[i] != old;
            }
            if (!changed) {
                return r;
            }
            Constructor<?> make = r.getClass().getDeclaredConstructor(types);
            make.setAccessible(true);
            return make.newInstance(values);
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException(
                    "to: cannot rebuild the " + r.getClass().getSimpleName() + " in " + owner.getName() + "."
                            + f.getName() + " with moved tensors",
                    e);
        }
    }
}
