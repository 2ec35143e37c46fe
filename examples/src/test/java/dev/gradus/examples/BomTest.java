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
        for (String module : new String[] {"core", "backend-cpu", "backend-cuda", "datasets", "train"}) {
            assertTrue(bom.contains("<artifactId>gradus-" + module + "</artifactId>"), module);
        }
    }
}
