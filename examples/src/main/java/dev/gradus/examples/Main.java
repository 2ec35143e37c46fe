package dev.gradus.examples;

import dev.gradus.datasets.DataSetNotFoundException;
import dev.gradus.io.FileErrors;
import dev.gradus.train.TrainingDivergedException;
import java.io.IOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/**
 * The examples launcher: {@code java -jar examples/target/gradus-examples.jar <command>}.
 *
 * <p>{@code mlp} trains the Flux.jl MNIST MLP; {@code doctor} reports what loads on this machine.
 */
@Command(
        name = "gradus-examples",
        mixinStandardHelpOptions = true,
        scope = ScopeType.INHERIT, // every subcommand gets --help and --version
        version = "Gradus examples 0.1.0",
        description = "Runnable Gradus examples that reproduce well-known notebooks.",
        subcommands = {
            MlpCommand.class,
            FashionMlpCommand.class,
            CnnCommand.class,
            BnCnnCommand.class,
            LstmCommand.class,
            VitCommand.class,
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
                    String line = errorLine(ex);
                    if (line != null) {
                        cmd.getErr().println(line);
                        return 2;
                    }
                    throw ex;
                })
                .execute(args);
        System.exit(code);
    }

    /**
     * The one line printed for an error the user can fix, or null for a bug (which gets its stack trace): file
     * errors name the file and say what is wrong in words ({@code x.safetensors: no such file or directory}), and
     * the library's errors get the command-line option that fixes them.
     */
    static String errorLine(Exception ex) {
        String msg;
        if (ex instanceof IOException io) {
            msg = FileErrors.describe(io);
        } else if (ex instanceof IllegalArgumentException || ex instanceof IllegalStateException) {
            msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
        } else {
            return null;
        }
        if (ex instanceof TrainingDivergedException) {
            msg += " (here: a smaller --lr, or --detect-anomaly)";
        } else if (ex instanceof DataSetNotFoundException d) {
            msg += d.offline() ? " (here: --data DIR, or run without --offline)" : " (here: --data DIR)";
        }
        return "error: " + msg.lines().findFirst().orElse("");
    }
}
