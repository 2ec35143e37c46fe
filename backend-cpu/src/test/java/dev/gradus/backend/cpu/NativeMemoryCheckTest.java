package dev.gradus.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.gradus.Scope;
import dev.gradus.Tensor;
import dev.gradus.testing.NativeMemoryCheck;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Event;
import org.junit.platform.testkit.engine.Events;

/** The suite-wide leak check fails a test that leaves native memory live and passes one that does not. */
class NativeMemoryCheckTest {
    /** Only runs inside {@link #leakyTestFailsAndTidyTestPasses}, never on its own in the suite. */
    static volatile boolean underTestKit;

    @ExtendWith(NativeMemoryCheck.class)
    static class Examples {
        static Tensor leaked;

        @Test
        void leaks() {
            Assumptions.assumeTrue(underTestKit);
            leaked = Tensor.zeros(3, 5);
        }

        @Test
        void tidy() {
            Assumptions.assumeTrue(underTestKit);
            try (Scope s = Scope.open()) {
                Tensor.zeros(7, 11).add(Tensor.ones(7, 11)).sum().item();
            }
        }
    }

    @Test
    void leakyTestFailsAndTidyTestPasses() {
        CpuBackendProvider.get();
        underTestKit = true;
        Events tests;
        try {
            tests = EngineTestKit.engine("junit-jupiter")
                    .selectors(selectClass(Examples.class))
                    .execute()
                    .testEvents();
        } finally {
            underTestKit = false;
            if (Examples.leaked != null) {
                Examples.leaked.close();
                Examples.leaked = null;
            }
        }
        assertEquals(1, tests.succeeded().count(), "the tidy test passes");
        List<Event> failed = tests.failed().list();
        assertEquals(1, failed.size(), "the leaky test fails");
        Throwable why = failed.get(0)
                .getPayload(TestExecutionResult.class)
                .orElseThrow()
                .getThrowable()
                .orElseThrow();
        assertTrue(why.getMessage().contains("leaks()") && why.getMessage().contains("(+60)"), why.getMessage());
    }
}
