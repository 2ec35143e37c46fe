package dev.gradus.testing;

import dev.gradus.Backends;
import dev.gradus.spi.Backend;
import java.util.IdentityHashMap;
import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves native or device memory live when it ends: every started backend's
 * {@link Backend#memory() live bytes} must be back where they were before the test (per test method, and per
 * test class for what {@code @BeforeAll} made).
 *
 * <p>Registered for the whole suite through JUnit's extension auto-detection (the service file in core's
 * test-jar, switched on in the parent POM's Surefire configuration), so a test need not opt in. A backend
 * that starts during a test counts from zero.
 */
public final class NativeMemoryCheck
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NativeMemoryCheck.class);

    /** How long to wait for background threads (loader prefetch) to release what they hold. */
    private static final long SETTLE_MILLIS = 2_000;

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("class", snapshot());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        check(context, "class", "its @BeforeAll/@AfterAll fixtures");
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("method", snapshot());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        check(context, "method", "it");
    }

    private static Map<Backend, Long> snapshot() {
        Map<Backend, Long> live = new IdentityHashMap<>();
        for (Backend b : Backends.started()) {
            live.put(b, b.memory().liveBytes());
        }
        return live;
    }

    @SuppressWarnings("unchecked")
    private static void check(ExtensionContext context, String key, String what) {
        Map<Backend, Long> before = (Map<Backend, Long>) context.getStore(NS).remove(key, Map.class);
        if (before == null) {
            return;
        }
        long deadline = System.nanoTime() + SETTLE_MILLIS * 1_000_000;
        while (true) {
            StringBuilder leaks = new StringBuilder();
            for (Backend b : Backends.started()) {
                long was = before.getOrDefault(b, 0L);
                long now = b.memory().liveBytes();
                if (now > was) {
                    leaks.append(String.format(
                            "%n  backend '%s': %,d bytes live before, %,d after (+%,d)",
                            b.name(), was, now, now - was));
                }
            }
            if (leaks.length() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("NativeMemoryCheck: " + context.getDisplayName() + " left memory live after "
                        + what + " ended:" + leaks + "\n  close the tensors and modules it made, or make them inside"
                        + " a Scope");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("NativeMemoryCheck: interrupted", e);
            }
        }
    }
}
