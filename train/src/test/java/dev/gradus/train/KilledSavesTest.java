package dev.gradus.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.train.SaveKinds.Kind;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 during every kind of save: a child JVM saves each kind of file in turn (a model, a checkpoint, the train
 * module's report files: history CSV and JSON, metrics.json, the PNG charts; a Kaggle submission and an IDX file) and
 * is killed with SIGKILL at a random moment of the save of each kind, several times. After every kill each file is
 * the old version or the whole new one, and loads; a killed save's temporary file never piles up (at most one per
 * file) and the next save removes it.
 */
class KilledSavesTest {
    @TempDir
    Path dir;

    private static final int ROUNDS_PER_KIND = 2;

    /** What the child has said so far, read on a thread of its own so that the test can watch the folder. */
    private static final class Progress {
        final Map<Kind, Integer> saved;
        final Map<Kind, Long> micros = new EnumMap<>(Kind.class);
        final Set<Kind> started = EnumSet.noneOf(Kind.class);
        Kind inProgress;
        int inProgressVersion = -1;
        boolean ended;

        Progress(Map<Kind, Integer> saved) {
            this.saved = saved;
        }

        synchronized void line(String line) {
            String[] w = line.split(" ");
            if (w.length == 4 && w[0].equals("saved")) {
                Kind k = Kind.valueOf(w[1]);
                saved.put(k, Integer.parseInt(w[2]));
                micros.merge(k, Long.parseLong(w[3]), Math::max);
                inProgress = null;
            } else if (w.length == 3 && w[0].equals("start")) {
                inProgress = Kind.valueOf(w[1]);
                started.add(inProgress);
                inProgressVersion = Integer.parseInt(w[2]);
            }
            notifyAll();
        }

        synchronized void end() {
            ended = true;
            notifyAll();
        }

        synchronized boolean waitFor(Kind k) throws InterruptedException {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (inProgress != k && !ended && System.nanoTime() < until) {
                wait(100);
            }
            return inProgress == k;
        }
    }

    @Test
    void everyFileIsTheOldOrTheNewVersionAfterAKill() throws Exception {
        Map<Kind, Integer> saved = new EnumMap<>(Kind.class);
        try (SaveKinds.Saver s = new SaveKinds.Saver()) {
            for (Kind k : Kind.values()) {
                s.save(k, dir, 0);
                saved.put(k, 0);
            }
        }
        Random rnd = new Random(2026_12_03L);
        Map<Kind, Integer> midSave = new EnumMap<>(Kind.class);
        Map<Kind, Long> longest = new EnumMap<>(Kind.class);
        List<String> failed = new ArrayList<>();
        int round = 0;
        for (int r = 0; r < ROUNDS_PER_KIND; r++) {
            for (Kind target : Kind.values()) {
                round++;
                Process child = new ProcessBuilder(SaveKinds.command(
                                "loop", dir.toString(), Integer.toString(round * 1000), target.name()))
                        .redirectErrorStream(true)
                        .start();
                Progress p = new Progress(saved);
                Thread reader = new Thread(() -> {
                    try (BufferedReader out =
                            new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                        String line;
                        while ((line = out.readLine()) != null) {
                            p.line(line);
                        }
                    } catch (IOException e) {
                        // the child is gone
                    } finally {
                        p.end();
                    }
                });
                reader.start();
                assertTrue(p.waitFor(target), "the child never began to save " + target);
                String mine = "." + target.file + "." + child.pid() + "-";
                if (r % 2 == 0) {
                    // half the kills once the temporary file is there: half way through writing or syncing it
                    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                    while (System.nanoTime() < until
                            && SaveKinds.temporaryFiles(dir).stream().noneMatch(t -> t.startsWith(mine))) {
                        Thread.onSpinWait();
                    }
                    TimeUnit.MICROSECONDS.sleep(rnd.nextInt(500));
                } else {
                    // the others anywhere from the start of the save to past its rename
                    TimeUnit.MICROSECONDS.sleep(rnd.nextInt(60_000));
                }
                child.destroyForcibly(); // SIGKILL: no finally block or shutdown hook runs
                assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not die");
                reader.join(10_000);
                p.micros.forEach((k, v) -> longest.merge(k, v, Math::max));
                List<String> temps = SaveKinds.temporaryFiles(dir);
                if (temps.stream().anyMatch(t -> t.startsWith(mine))) {
                    midSave.merge(target, 1, Integer::sum);
                }
                // the files this child began to save (the others it never opened: checked at the end)
                for (Kind k : p.started) {
                    long left = temps.stream()
                            .filter(t -> t.startsWith("." + k.file + "."))
                            .count();
                    if (left > 1) {
                        failed.add("round " + round + ": " + left + " temporary files of " + k.file + ": " + temps);
                    }
                    int old = saved.get(k);
                    boolean pending = k == p.inProgress;
                    try {
                        int v = SaveKinds.verify(k, dir);
                        if (v != -1 && !same(k, v, old) && !(pending && same(k, v, p.inProgressVersion))) {
                            failed.add("round " + round + ": " + k.file + " is version " + v + ", neither the old "
                                    + old + " nor the one being saved");
                        }
                        if (pending && v != -1 && same(k, v, p.inProgressVersion)) {
                            saved.put(k, p.inProgressVersion); // killed after the rename: the new one is the file
                        }
                    } catch (Exception | AssertionError e) {
                        failed.add("round " + round + " (killed saving " + target + "): " + k.file + ": " + e);
                    }
                }
            }
        }
        // The next save of each file removes what the killed saves left, and nothing is left at all.
        try (SaveKinds.Saver s = new SaveKinds.Saver()) {
            for (Kind k : Kind.values()) {
                s.save(k, dir, 1);
            }
        }
        assertEquals(List.of(), SaveKinds.temporaryFiles(dir), "temporary files after the next saves");
        for (Kind k : Kind.values()) {
            SaveKinds.verify(k, dir);
        }
        System.out.println("KilledSavesTest: " + round + " kills; kills that left a half-written temporary file,"
                + " per kind: " + midSave + "; longest save seen (us): " + longest);
        assertEquals(List.of(), failed, String.join("\n", failed));
        // The kills did land inside saves, not only between them: otherwise this test proves nothing.
        int inside = midSave.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(inside >= round / 3, inside + " of " + round + " kills landed inside a save: " + midSave);
    }

    /** Versions of the kinds that keep only part of the number (a label 0..9, a byte). */
    private static boolean same(Kind k, int v, int version) {
        return switch (k) {
            case SUBMISSION_CSV -> v == Math.floorMod(version, 10);
            case IDX -> v == (version & 0xFF);
            default -> v == version;
        };
    }
}
