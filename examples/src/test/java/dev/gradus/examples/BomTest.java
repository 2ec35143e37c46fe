package dev.gradus.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** gradus-bom has no parent, so it repeats the build's versions: they must not drift apart. */
class BomTest {
    private static String property(String pom, String name) {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</").matcher(pom);
        assertTrue(m.find(), name + " is not set");
        return m.group(1).trim();
    }

    @Test
    void theBomNamesTheVersionsTheBuildUses() throws Exception {
        String parent = Files.readString(Path.of("..", "pom.xml"));
        String bom = Files.readString(Path.of("..", "bom", "pom.xml"));
        for (String p : new String[] {"javacpp.version", "openblas.version", "dnnl.version", "opencl.version"}) {
            assertEquals(property(parent, p), property(bom, p), p);
        }
        String version = property(parent.substring(parent.indexOf("<artifactId>gradus-parent")), "version");
        assertEquals(version, property(bom, "gradus.version"));
        for (String module : new String[] {"core", "backend-cpu", "backend-cuda", "datasets", "train", "onnx"}) {
            assertTrue(bom.contains("<artifactId>gradus-" + module + "</artifactId>"), module);
        }
    }

    /**
     * Every published module of the build (a jar with its sources and javadoc, unlike the examples and benchmarks
     * applications) is in the BOM, so that a user's build names it without a version.
     */
    @Test
    void theBomListsEveryPublishedModule() throws Exception {
        String parent = Files.readString(Path.of("..", "pom.xml"));
        String bom = Files.readString(Path.of("..", "bom", "pom.xml"));
        String modules = parent.substring(parent.indexOf("<modules>"), parent.indexOf("</modules>"));
        Matcher m = Pattern.compile("<module>([^<]+)</module>").matcher(modules);
        int checked = 0;
        while (m.find()) {
            Path pom = Path.of("..", m.group(1), "pom.xml");
            String text = Files.readString(pom);
            String artifact = property(text.substring(text.indexOf("</parent>") + 1), "artifactId");
            boolean application = text.contains("<maven.javadoc.skip>true</maven.javadoc.skip>");
            if (artifact.equals("gradus-bom") || application) {
                continue;
            }
            assertTrue(bom.contains("<artifactId>" + artifact + "</artifactId>"), artifact + " is not in gradus-bom");
            checked++;
        }
        assertEquals(6, checked, "core, backend-cpu, backend-cuda, datasets, onnx, train");
    }
}
