package dev.gradus.examples;

import dev.gradus.Backends;
import dev.gradus.datasets.DataDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Prints what a user needs when something does not load: Java, backends and why, OpenBLAS, data sets. */
@Command(
        name = "doctor",
        description = "Report the Java version, each backend and whether it can run, and where data sets are.")
public final class DoctorCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.printf(
                "java        %s (%s, %s)%n",
                System.getProperty("java.version"),
                System.getProperty("java.vm.name"),
                System.getProperty("java.home"));
        System.out.printf(
                "os          %s %s, %d processors%n",
                System.getProperty("os.name"),
                System.getProperty("os.arch"),
                Runtime.getRuntime().availableProcessors());
        String requested = Backends.requestedName();
        System.out.println("requested   " + (requested == null ? "(none: best available)" : requested));
        System.out.println("backends");
        for (Backends.Info info : Backends.list()) {
            System.out.printf(
                    "  %-6s %s%n", info.name(), info.available() ? "available" : "UNAVAILABLE: " + info.reason());
            if (info.available()) {
                for (Map.Entry<String, String> e :
                        Backends.get(info.name()).describe().entrySet()) {
                    System.out.printf("         %-20s %s%n", e.getKey(), e.getValue());
                }
            }
        }
        try {
            System.out.println("default     " + Backends.defaultBackend().name());
        } catch (IllegalStateException e) {
            System.out.println("default     NONE: " + e.getMessage());
        }
        System.out.println("data sets");
        for (String name : new String[] {"mnist", "fashion-mnist"}) {
            Path found = null;
            for (Path p : DataDirs.candidates(name, null)) {
                if (Files.isRegularFile(p.resolve("train-images-idx3-ubyte.gz"))
                        || Files.isRegularFile(p.resolve("train-images-idx3-ubyte"))) {
                    found = p;
                    break;
                }
            }
            System.out.printf(
                    "  %-14s %s%n",
                    name,
                    found != null
                            ? found.toAbsolutePath()
                            : "not found (looked in " + DataDirs.candidates(name, null) + ")");
        }
        return 0;
    }
}
