package dev.gradus.examples;

import java.io.IOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The examples launcher: {@code java -jar examples/target/gradus-examples.jar <command>}.
 *
 * <p>{@code mlp} trains the Flux.jl MNIST MLP; {@code doctor} reports what loads on this machine.
 */
@Command(
        name = "gradus-examples",
        mixinStandardHelpOptions = true,
        version = "Gradus examples 0.1.0",
        description = "Runnable Gradus examples that reproduce well-known notebooks.",
        subcommands = {
            MlpCommand.class,
            FashionMlpCommand.class,
            CnnCommand.class,
            BnCnnCommand.class,
            KaggleCommand.class,
            PredictCommand.class,
            ExportOnnxCommand.class,
            DoctorCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        int code = new CommandLine(new Main())
                .setExecutionExceptionHandler((ex, cmd, parsed) -> {
                    // Bad input and missing data are the user's to fix: one clear line, no stack trace.
                    if (ex instanceof IOException
                            || ex instanceof IllegalArgumentException
                            || ex instanceof IllegalStateException) {
                        cmd.getErr().println("error: " + ex.getMessage());
                        return 2;
                    }
                    throw ex;
                })
                .execute(args);
        System.exit(code);
    }
}
