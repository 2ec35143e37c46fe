package dev.gradus.conformance;

import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.gradus.spi.Backend;
import dev.gradus.spi.BatchNormArgs;
import dev.gradus.spi.ConvParams;
import dev.gradus.spi.Layout;
import dev.gradus.spi.Operand;
import dev.gradus.testing.ReferenceBackend;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The differential suites catch a backend with a plausible bug: a reference backend with one mistake slipped in
 * (dilation ignored, a broadcast operand's offset dropped, batch norm's eps wrong) must fail them.
 */
class ReferenceDifferentialMutantTest {

    /** A reference backend whose {@code method}'s arguments pass through {@code mutate} first. */
    private static Backend mutant(String method, UnaryOperator<Object[]> mutate) {
        Backend ref = new ReferenceBackend();
        return (Backend) Proxy.newProxyInstance(
                Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
                    Object[] a = m.getName().equals(method) ? mutate.apply(args.clone()) : args;
                    try {
                        return m.invoke(ref, a);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void aConvolutionThatIgnoresDilationFails() {
        Backend b = mutant("conv2d", a -> {
            // both forms: with an activation (what the suite calls) and without
            ConvParams p = (ConvParams) a[4];
            a[4] = new ConvParams(p.strideH(), p.strideW(), p.padH(), p.padW(), 1, 1, p.groups());
            return a;
        });
        ReferenceDifferential d = () -> b;
        assertThrows(AssertionError.class, d::conv2dAndItsGradientsMatchTheReference);
    }

    @Test
    void aBinaryOpThatDropsTheSecondOperandsOffsetFails() {
        Backend b = mutant("binary", a -> {
            Operand o = (Operand) a[2];
            Layout l = o.layout();
            a[2] = new Operand(o.storage(), new Layout(l.shape(), l.strides(), 0));
            return a;
        });
        ReferenceDifferential d = () -> b;
        assertThrows(AssertionError.class, d::binaryOpsWithBroadcastingMatchTheReference);
    }

    @Test
    void aBatchNormWithTheWrongEpsFails() {
        Backend b = mutant("batchNormTrain", a -> {
            BatchNormArgs p = (BatchNormArgs) a[2];
            a[2] = new BatchNormArgs(
                    p.gamma(),
                    p.beta(),
                    p.runningMean(),
                    p.runningVar(),
                    p.saveMean(),
                    p.saveInvStd(),
                    1e-3f,
                    p.momentum());
            return a;
        });
        ReferenceDifferential d = () -> b;
        assertThrows(AssertionError.class, d::batchNormAndChannelAffineMatchTheReference);
        ReferenceDifferentialPaths chain = () -> b;
        assertThrows(AssertionError.class, chain::aCnnsOpsChainedOnTheBackendsOwnOutputsMatchTheReference);
    }
}
