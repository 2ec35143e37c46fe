package dev.gradus.testing;

import dev.gradus.Scope;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A JUnit extension that runs each test in a {@link Scope} of its own, closed after the test, so that what a test
 * makes and does not close is released.
 *
 * <pre>{@code
 * @ExtendWith(ScopePerTest.class)
 * class MetricsTest { ... }
 * }</pre>
 */
public final class ScopePerTest implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ScopePerTest.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NS).put("scope", Scope.open());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Scope scope = context.getStore(NS).remove("scope", Scope.class);
        if (scope != null) {
            scope.close();
        }
    }
}
