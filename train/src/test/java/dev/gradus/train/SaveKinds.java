package dev.gradus.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.gradus.Rng;
import dev.gradus.Tensor;
import dev.gradus.backend.cpu.CpuBackendProvider;
import dev.gradus.datasets.Idx;
import dev.gradus.datasets.KaggleDigits;
import dev.gradus.io.Checkpoint;
import dev.gradus.io.Safetensors;
import dev.gradus.metrics.ConfusionMatrix;
import dev.gradus.metrics.History;
import dev.gradus.nn.Dense;
import dev.gradus.nn.Init;
import dev.gradus.nn.Parameter;
import dev.gradus.nn.ReLU;
import dev.gradus.nn.Sequential;
import dev.gradus.optim.SGD;
import dev.gradus.spi.Backend;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Every kind of file Gradus saves, for the attacker's pass over saves ({@link KilledSavesTest},
 * {@link FullDiskSavesTest}): a save of version {@code i} of each, and a check that a file on the disk is one whole
 * version that loads with its reader. Runs as a child JVM too ({@link #main}), so the tests can kill it or limit its
 * file size.
 */
public final class SaveKinds {
    private SaveKinds() {}

    /** One kind of save: the file it writes. */
    public enum Kind {
        MODEL("model.safetensors"),
        CHECKPOINT("ckpt.safetensors"),
        HISTORY_CSV("history.csv"),
        HISTORY_JSON("history.json"),
        METRICS_JSON("metrics.json"),
        CURVES_PNG("curves.png"),
        CONFUSION_PNG("confusion.png"),
        GRID_PNG("misclassified.png"),
        SUBMISSION_CSV("submission.csv"),
        IDX("labels-idx1-ubyte");

        final String file;

        Kind(String file) {
            this.file = file;
        }
    }

    static final Backend CPU = CpuBackendProvider.get();

    /** A model of 136k parameters (545 kB saved): its saves take long enough to be killed half way. */
    static Sequential model() {
        Rng rng = new Rng(1);
        return new Sequential(
                new Dense(CPU, 256, 512, true, Init.PYTORCH, rng),
                new ReLU(),
                new Dense(CPU, 512, 10, true, Init.PYTORCH, rng));
    }

    private static int rows(int i) {
        return 200 + Math.floorMod(i, 7);
    }

    static History history(int i) {
        History h = new History();
        for (int e = 1; e <= rows(i); e++) {
            Map<String, Double> m = new LinkedHashMap<>();
            m.put("epoch", (double) e);
            m.put("train_loss", 1.0 / e + i);
            m.put("iteration", (double) i);
            h.add(m);
        }
        return h;
    }

    /** What the saves of one process share (the model and its optimizer are made once). */
    static final class Saver implements AutoCloseable {
        private Sequential model;
        private SGD opt;

        /** Saves version {@code i} of {@code kind} into {@code dir}. */
        void save(Kind kind, Path dir, int i) throws IOException {
            Path f = dir.resolve(kind.file);
            switch (kind) {
                case MODEL -> {
                    fill(i);
                    Safetensors.save(model, f, Map.of("iteration", Integer.toString(i)));
                }
                case CHECKPOINT -> {
                    fill(i); // before the rate: it makes the optimizer
                    opt.setLr(0.001f * (1 + Math.floorMod(i, 100)));
                    Checkpoint.save(f, model, opt, null);
                }
                case HISTORY_CSV -> history(i).writeCsv(f);
                case HISTORY_JSON -> history(i).writeJson(f);
                case METRICS_JSON -> {
                    int n = rows(i);
                    List<Double> d = Collections.nCopies(n, (double) i);
                    int[] labels = new int[100];
                    Training.writeMetrics(
                            dir,
                            new Training.Result(
                                    "run-" + i,
                                    "test",
                                    0.5,
                                    d,
                                    d,
                                    d,
                                    Collections.nCopies(n, (long) i),
                                    "cpu",
                                    history(i),
                                    new Evaluation.Outcome(labels, labels, 0.1, 1.0)));
                }
                case CURVES_PNG -> Charts.curves(history(i), f);
                case CONFUSION_PNG -> {
                    int[] labels = new int[500];
                    int[] preds = new int[500];
                    for (int k = 0; k < labels.length; k++) {
                        labels[k] = k % 10;
                        preds[k] = (k + i) % 10;
                    }
                    List<String> names = new ArrayList<>();
                    for (int c = 0; c < 10; c++) {
                        names.add("class " + c);
                    }
                    Charts.confusion(ConfusionMatrix.of(10, labels, preds), names, f);
                }
                case GRID_PNG -> {
                    float[] pixels = new float[32 * 28 * 28];
                    Arrays.fill(pixels, Math.floorMod(i, 10) / 10f);
                    int[] idx = new int[32];
                    List<String> captions = new ArrayList<>();
                    for (int k = 0; k < 32; k++) {
                        idx[k] = k;
                        captions.add("pred " + (i % 10) + " / true " + k % 10);
                    }
                    Charts.labelledGrid(pixels, idx, 28, 28, captions, 8, f);
                }
                case SUBMISSION_CSV -> {
                    int[] p = new int[1000 + Math.floorMod(i, 7)];
                    Arrays.fill(p, Math.floorMod(i, 10));
                    KaggleDigits.writeSubmission(f, p);
                }
                case IDX -> {
                    byte[] b = new byte[5000 + Math.floorMod(i, 7)];
                    Arrays.fill(b, (byte) i);
                    Idx.writeUbyte(f, new int[] {b.length}, b);
                }
            }
        }

        private void fill(int i) {
            if (model == null) { // made on first use: a child saving only reports starts faster
                model = model();
                opt = new SGD(model.parameters(), SGD.Config.lr(0.1f));
            }
            for (Parameter p : model.parameters()) {
                try (Tensor v = Tensor.full(CPU, i, p.shape().dims())) {
                    p.copyFrom(v);
                }
            }
        }

        @Override
        public void close() {
            if (model != null) {
                opt.close();
                model.close();
            }
        }
    }

    /**
     * Checks that {@code kind}'s file in {@code dir} is one whole version that its reader loads.
     *
     * @return the version it is, or -1 for a picture (whole, but its version is not written in it)
     * @throws AssertionError or the reader's exception when it is not
     */
    static int verify(Kind kind, Path dir) throws Exception {
        Path f = dir.resolve(kind.file);
        switch (kind) {
            case MODEL -> {
                Safetensors.Contents c = Safetensors.read(f);
                int i = Integer.parseInt(c.metadata().get("iteration"));
                for (Safetensors.Entry e : c.tensors().values()) {
                    for (float v : e.values()) {
                        check(v == i, f, "tensor " + e.name() + " holds " + v + " in version " + i);
                    }
                }
                try (Sequential m = model()) {
                    Safetensors.load(m, f);
                }
                return i;
            }
            case CHECKPOINT -> {
                try (Sequential m = model();
                        SGD opt = new SGD(m.parameters(), SGD.Config.lr(0.5f))) {
                    Checkpoint.load(f, m, opt, null);
                    float[] w = m.parameters().get(0).toFloatArray();
                    int i = (int) w[0];
                    for (Parameter p : m.parameters()) {
                        for (float v : p.toFloatArray()) {
                            check(v == i, f, "mixed versions " + v + " and " + i);
                        }
                    }
                    check(opt.lr() == 0.001f * (1 + Math.floorMod(i, 100)), f, "rate " + opt.lr() + " in version " + i);
                    return i;
                }
            }
            case HISTORY_CSV -> {
                byte[] b = Files.readAllBytes(f);
                check(b.length > 0 && b[b.length - 1] == '\n', f, "does not end with a whole line");
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                check(lines.get(0).equals("epoch,train_loss,iteration"), f, "header " + lines.get(0));
                int i = (int) Double.parseDouble(lines.get(1).split(",")[2]);
                check(lines.size() == 1 + rows(i), f, lines.size() + " lines in version " + i);
                for (String line : lines.subList(1, lines.size())) {
                    String[] cells = line.split(",");
                    check(cells.length == 3 && Double.parseDouble(cells[2]) == i, f, "line " + line);
                }
                return i;
            }
            case HISTORY_JSON -> {
                JsonNode a = new ObjectMapper().readTree(f.toFile());
                int i = a.get(0).get("iteration").asInt();
                check(a.size() == rows(i), f, a.size() + " epochs in version " + i);
                for (JsonNode e : a) {
                    check(e.get("iteration").asInt() == i && e.size() == 3, f, "epoch " + e);
                }
                return i;
            }
            case METRICS_JSON -> {
                JsonNode m = new ObjectMapper().readTree(f.toFile());
                int i = Integer.parseInt(m.get("model").asText().substring("run-".length()));
                check(m.get("train_loss").size() == rows(i), f, "train_loss of version " + i);
                check(m.get("native_bytes").get(rows(i) - 1).asLong() == i, f, "native_bytes of version " + i);
                return i;
            }
            case CURVES_PNG, CONFUSION_PNG, GRID_PNG -> {
                byte[] b = Files.readAllBytes(f);
                String tail =
                        new String(b, Math.max(0, b.length - 12), Math.min(12, b.length), StandardCharsets.ISO_8859_1);
                check(tail.contains("IEND"), f, "a PNG without its end chunk (" + b.length + " bytes)");
                BufferedImage img = ImageIO.read(f.toFile());
                check(img != null && img.getWidth() > 100 && img.getHeight() > 100, f, "not a whole picture");
                // every pixel decodes: a cut in the data fails here
                img.getRGB(img.getWidth() - 1, img.getHeight() - 1);
                return -1;
            }
            case SUBMISSION_CSV -> {
                int[] p = KaggleDigits.readSubmission(f);
                int v = p[0];
                for (int x : p) {
                    check(x == v, f, "mixed labels");
                }
                int size = p.length - 1000;
                check(size >= 0 && size < 7, f, p.length + " rows");
                return v;
            }
            case IDX -> {
                Idx.Array a = Idx.read(f);
                byte v = a.data()[0];
                for (byte x : a.data()) {
                    check(x == v, f, "mixed bytes");
                }
                return v & 0xFF;
            }
            default -> throw new AssertionError(kind);
        }
    }

    private static void check(boolean ok, Path f, String what) {
        if (!ok) {
            throw new AssertionError(f + ": " + what);
        }
    }

    /** Gradus's temporary files in {@code dir} (a killed save's, left for the next save of the file to remove). */
    static List<String> temporaryFiles(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") || n.endsWith(".tmp") || n.endsWith("-tmp")) {
                    out.add(n);
                }
            }
        }
        Collections.sort(out);
        return out;
    }

    /** The child JVM's command line: {@code java -cp <this class path> SaveKinds args}. */
    static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:-UsePerfData",
                "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC",
                "-Djava.awt.headless=true",
                "-cp",
                System.getProperty("java.class.path"),
                SaveKinds.class.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * {@code loop DIR FIRST [KIND]}: saves every kind in turn from KIND on, versions FIRST, FIRST+1, ..., until
     * killed, printing {@code start KIND i} and {@code saved KIND i MICROSECONDS} around each save. {@code once DIR I}: saves version I of every
     * kind once, printing {@code KIND ok} or {@code KIND error MESSAGE} (the message on one line, its line breaks
     * shown as {@code \n}).
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]);
        int first = Integer.parseInt(args[2]);
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Saver s = new Saver()) {
            if (args[0].equals("once")) {
                for (Kind k : Kind.values()) {
                    try {
                        s.save(k, dir, first);
                        out.println(k + " ok");
                    } catch (Exception e) {
                        out.println(k + " error " + e.getClass().getSimpleName() + ": "
                                + String.valueOf(e.getMessage()).replace("\n", "\\n"));
                    }
                }
                return;
            }
            Kind[] kinds = Kind.values();
            int from = args.length > 3 ? Kind.valueOf(args[3]).ordinal() : 0;
            for (int n = 0; ; n++) {
                Kind k = kinds[(from + n) % kinds.length];
                int i = first + n / kinds.length;
                out.println("start " + k + " " + i);
                long t0 = System.nanoTime();
                s.save(k, dir, i);
                out.println("saved " + k + " " + i + " " + (System.nanoTime() - t0) / 1000);
            }
        }
    }
}
