package dev.gradus.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import dev.gradus.Shape;
import dev.gradus.Tensor;
import dev.gradus.nn.Module;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves and loads model weights in the safetensors format, with PyTorch-style names ({@code 0.weight},
 * {@code 1.running_mean}) so files can be exchanged with PyTorch ({@code safetensors.torch.load_file}).
 *
 * <p>Layout: an 8-byte little-endian header length, a JSON header mapping each name to its dtype, shape and byte
 * range, then the little-endian float32 data. The header's {@code __metadata__} records the architecture (one
 * description per layer) and the format {@code pt}.
 *
 * <pre>{@code
 * Safetensors.save(model, Path.of("model.safetensors"));
 * Safetensors.load(model, Path.of("model.safetensors"));   // same architecture, checked name by name
 * }</pre>
 *
 * <p>Saving writes a temporary file and renames it, so an interrupted save never replaces a good file.
 */
public final class Safetensors {
    private static final Logger LOG = LoggerFactory.getLogger(Safetensors.class);
    private static final JsonFactory JSON = new JsonFactory();
    /** Headers larger than this are not a safetensors file we wrote or could use. */
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {}

    /** One tensor as stored: name, shape and values. */
    public record Entry(String name, int[] shape, float[] values, String dtype) {
        /** A float32 tensor. */
        public Entry(String name, int[] shape, float[] values) {
            this(name, shape, values, "F32");
        }
    }

    /** A whole file: tensors in file order and the metadata strings. */
    public record Contents(Map<String, Entry> tensors, Map<String, String> metadata, List<String> conversions) {
        /** Contents read without converting any tensor. */
        public Contents(Map<String, Entry> tensors, Map<String, String> metadata) {
            this(tensors, metadata, List.of());
        }
    }

    /** What a non-strict {@link #load(Module, Path, boolean)} left alone: model names the file lacks, and file names the model does not have. */
    public record LoadReport(List<String> missing, List<String> unexpected) {}

    /** Bytes per element of each dtype Gradus reads (and converts to float32). */
    private static final Map<String, Integer> DTYPE_BYTES =
            Map.of("F32", 4, "F16", 2, "BF16", 2, "F64", 8, "I64", 8, "I32", 4, "I16", 2, "I8", 1, "U8", 1, "BOOL", 1);

    /** The architecture string recorded for {@code model}: its layers' descriptions. */
    public static String architecture(Module model) {
        List<String> parts = new ArrayList<>();
        if (model.children().isEmpty()) {
            parts.add(model.describe());
        } else {
            model.children().forEach((k, m) -> parts.add(k + ":" + m.describe()));
        }
        return String.join("; ", parts);
    }

    /** Writes every parameter and buffer of {@code model} to {@code file}, atomically. */
    public static void save(Module model, Path file) throws IOException {
        save(model, file, Map.of());
    }

    /** As {@link #save(Module, Path)}, adding {@code extra} metadata strings (e.g. which example built it). */
    public static void save(Module model, Path file, Map<String, String> extra) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>(model.namedParameters());
        all.putAll(model.namedBuffers());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.put("gradus.architecture", architecture(model));
        // In key order, so one model saves to the same bytes whatever order the caller's map iterates in.
        meta.putAll(new TreeMap<>(extra));
        write(file, all, meta);
    }

    /** Writes the named tensors (float32) with {@code metadata}, atomically. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream header = new ByteArrayOutputStream();
        long offset = 0;
        List<float[]> data = new ArrayList<>();
        try (JsonGenerator g = JSON.createGenerator(header)) {
            g.writeStartObject();
            g.writeObjectFieldStart("__metadata__");
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                float[] v = e.getValue().toFloatArray();
                data.add(v);
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("dtype", "F32");
                g.writeArrayFieldStart("shape");
                for (int d : e.getValue().shape().dims()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(offset);
                g.writeNumber(offset + 4L * v.length);
                g.writeEndArray();
                g.writeEndObject();
                offset += 4L * v.length;
            }
            g.writeEndObject();
        }
        // Pad the header with spaces to 8 bytes, as the reference writer does, so data is aligned.
        while (header.size() % 8 != 0) {
            header.write(' ');
        }
        AtomicFiles.write(file, out -> {
            ByteBuffer len =
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.size());
            out.write(len.array());
            header.writeTo(out);
            for (float[] v : data) {
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                out.write(b.array());
            }
        });
    }

    /**
     * Reads and checks a whole safetensors file (float32 tensors only). Errors name the file
     * ({@link FileErrors#onFile}): {@code model.safetensors: Is a directory}.
     */
    public static Contents read(Path file) throws IOException {
        try {
            return readChecked(file);
        } catch (IOException e) {
            throw FileErrors.onFile(file, e);
        }
    }

    private static Contents readChecked(Path file) throws IOException {
        String name = file.toString();
        long size = Files.size(file);
        if (size < 8) {
            throw new ModelFormatException(name, "truncated: " + size + " bytes, fewer than the 8-byte header length");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, name);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER) {
                throw new ModelFormatException(
                        name, "not a safetensors file: header length " + headerLen + " at byte 0 is implausible");
            }
            if (8 + headerLen > size) {
                throw new ModelFormatException(
                        name,
                        "truncated: the header needs " + headerLen + " bytes after byte 8," + " the file has "
                                + (size - 8));
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, name);
            byte[] header = hb.array();
            if (header[0] != '{') {
                throw new ModelFormatException(
                        name, "not a safetensors file: the header at byte 8 does not start" + " with '{'");
            }
            Map<String, String> meta = new LinkedHashMap<>();
            List<Info> infos = parseHeader(name, header, meta);
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            checkLayout(name, infos, dataLen);
            // Every range checked, disjoint and inside the file: what is allocated below is bounded by its size.
            List<String> conversions = new ArrayList<>();
            Map<String, Entry> tensors = new LinkedHashMap<>();
            for (Info info : infos) {
                int n = (int) info.count;
                ByteBuffer b =
                        ByteBuffer.allocate((int) (info.end - info.start)).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, b, dataStart + info.start, name);
                b.flip();
                float[] v = toFloats(b, info.dtype, n);
                String loss = lossOf(info.dtype, b, n);
                if (loss != null) {
                    conversions.add("'" + info.name + "' " + info.dtype + " -> F32: " + loss);
                }
                tensors.put(info.name, new Entry(info.name, info.shape, v, info.dtype));
            }
            return new Contents(tensors, meta, List.copyOf(conversions));
        }
    }

    /** The {@code n} elements of {@code b} (little-endian, of {@code dtype}) as float32. */
    private static float[] toFloats(ByteBuffer b, String dtype, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = switch (dtype) {
                case "F32" -> b.getFloat(4 * i);
                case "F16" -> halfToFloat(b.getShort(2 * i));
                case "BF16" -> Float.intBitsToFloat((b.getShort(2 * i) & 0xffff) << 16);
                case "F64" -> (float) b.getDouble(8 * i);
                case "I64" -> (float) b.getLong(8 * i);
                case "I32" -> (float) b.getInt(4 * i);
                case "I16" -> b.getShort(2 * i);
                case "I8" -> b.get(i);
                case "U8" -> b.get(i) & 0xff;
                case "BOOL" -> b.get(i) != 0 ? 1f : 0f;
                default -> throw new IllegalStateException(dtype); // the header check admits only the above
            };
        }
        return v;
    }

    /** IEEE 754 half precision to float (exact); Java 17 has no {@code Float.float16ToFloat}. */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0) { // zero or subnormal: mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 31) { // infinity or NaN
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /** What converting to float32 lost, or null when every value is exact. */
    private static String lossOf(String dtype, ByteBuffer b, int n) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            switch (dtype) {
                case "F64" -> changed += (double) (float) b.getDouble(8 * i) != b.getDouble(8 * i) ? 1 : 0;
                case "I64" -> changed += (long) (float) b.getLong(8 * i) != b.getLong(8 * i) ? 1 : 0;
                case "I32" -> changed += (int) (float) b.getInt(4 * i) != b.getInt(4 * i) ? 1 : 0;
                default -> {
                    return null; // F32, F16, BF16, I16, I8, U8 and BOOL fit float32 exactly
                }
            }
        }
        return changed == 0 ? null : changed + " of " + n + " values rounded";
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, String name) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) {
                throw new ModelFormatException(name, "truncated at byte " + (pos + b.position()));
            }
        }
    }

    /** One tensor's header entry, checked: its element count fits a Java array and matches its byte range. */
    private record Info(String name, String dtype, int[] shape, long count, long start, long end) {}

    /**
     * Checks the ranges as the reference loader does: sorted by offset they start at 0, each where the previous one
     * ends (no overlap, no gap), and the last ends where the file does (no bytes after it). Two entries on the same
     * bytes are refused here, before anything is allocated for them.
     */
    private static void checkLayout(String name, List<Info> infos, long dataLen) throws ModelFormatException {
        List<Info> sorted = new ArrayList<>(infos);
        sorted.sort((x, y) -> x.start != y.start ? Long.compare(x.start, y.start) : Long.compare(x.end, y.end));
        long end = 0;
        Info previous = null;
        for (Info info : sorted) {
            if (info.end > dataLen) {
                throw new ModelFormatException(
                        name,
                        "truncated: tensor '" + info.name + "' ends at data byte " + info.end + " but the file holds "
                                + dataLen + " bytes of data");
            }
            if (info.start < end) {
                throw new ModelFormatException(
                        name,
                        "tensor '" + info.name + "' data_offsets [" + info.start + ", " + info.end
                                + "] overlap tensor '" + previous.name + "' [" + previous.start + ", " + previous.end
                                + "]");
            }
            if (info.start > end) {
                throw new ModelFormatException(
                        name,
                        "tensor '" + info.name + "' data_offsets [" + info.start + ", " + info.end
                                + "] leave data bytes "
                                + end + " to " + info.start + " unused"
                                + (previous == null ? "" : " after tensor '" + previous.name + "'"));
            }
            end = info.end;
            previous = info;
        }
        if (end != dataLen) {
            throw new ModelFormatException(
                    name,
                    (dataLen - end) + " bytes after the last tensor's data (data bytes " + end + " to " + dataLen
                            + (previous == null ? "" : " follow tensor '" + previous.name + "' and")
                            + " belong to no tensor)");
        }
    }

    private static List<Info> parseHeader(String name, byte[] header, Map<String, String> meta) throws IOException {
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(name, "corrupt header: the JSON at byte 8 is not valid UTF-8", e);
        }
        List<Info> infos = new ArrayList<>();
        Set<String> names = new HashSet<>();
        String where = "header";
        // Parse the decoded text: given bytes, Jackson would guess UTF-16/32 from odd leading bytes.
        try (JsonParser p = JSON.createParser(text)) {
            expect(p.nextToken(), JsonToken.START_OBJECT, name, "header");
            boolean sawMetadata = false;
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                where = key.equals("__metadata__") ? "__metadata__" : "tensor '" + key + "'";
                expect(p.nextToken(), JsonToken.START_OBJECT, name, where);
                if (key.equals("__metadata__")) {
                    if (sawMetadata) {
                        throw new ModelFormatException(name, "corrupt header: __metadata__ appears twice");
                    }
                    sawMetadata = true;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String k = p.currentName();
                        JsonToken v = p.nextToken();
                        if (v != JsonToken.VALUE_STRING) {
                            throw new ModelFormatException(
                                    name,
                                    "corrupt header: __metadata__ value '" + k + "' should be a string, found " + v);
                        }
                        if (meta.put(k, p.getText()) != null) {
                            throw new ModelFormatException(
                                    name, "corrupt header: __metadata__ key '" + k + "' appears twice");
                        }
                    }
                    expect(p.currentToken(), JsonToken.END_OBJECT, name, "end of __metadata__");
                    continue;
                }
                if (!names.add(key)) {
                    // Which one would win depends on the reader; the reference refuses such a file too.
                    throw new ModelFormatException(name, "tensor '" + key + "' appears twice in the header");
                }
                infos.add(parseEntry(name, key, p));
            }
            expect(t, JsonToken.END_OBJECT, name, "end of the header");
            JsonToken after = p.nextToken();
            if (after != null) {
                throw new ModelFormatException(
                        name,
                        "corrupt header: " + after + " after the header's closing '}' (header character "
                                + p.currentLocation().getCharOffset() + ")");
            }
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(
                    name,
                    "corrupt header JSON in " + where + ": "
                            + e.getOriginalMessage().replace('\n', ' ')
                            + (e.getLocation() != null
                                    ? " (header character " + e.getLocation().getCharOffset() + ")"
                                    : ""),
                    e);
        }
        return infos;
    }

    /** One tensor's entry, the parser on its '{': each field of the expected type, nothing missing or repeated. */
    private static Info parseEntry(String name, String key, JsonParser p) throws IOException {
        String dtype = null;
        long[] shape = null;
        long[] offs = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String f = p.currentName();
            JsonToken t = p.nextToken();
            String field = "tensor '" + key + "' field '" + f + "'";
            switch (f) {
                case "dtype" -> {
                    if (dtype != null) {
                        throw new ModelFormatException(name, field + " appears twice");
                    }
                    if (t != JsonToken.VALUE_STRING) {
                        throw new ModelFormatException(name, field + " should be a string, found " + t);
                    }
                    dtype = p.getText();
                }
                case "shape", "data_offsets" -> {
                    if ((f.equals("shape") ? shape : offs) != null) {
                        throw new ModelFormatException(name, field + " appears twice");
                    }
                    long[] v = integers(name, field, p, t);
                    if (f.equals("shape")) {
                        shape = v;
                    } else {
                        offs = v;
                    }
                }
                default -> p.skipChildren(); // an unknown field, as the reference ignores them
            }
        }
        expect(p.currentToken(), JsonToken.END_OBJECT, name, "end of tensor '" + key + "'");
        if (dtype == null || shape == null || offs == null) {
            throw new ModelFormatException(
                    name,
                    "tensor '" + key + "' lacks its "
                            + (dtype == null ? "dtype" : shape == null ? "shape" : "data_offsets"));
        }
        Integer width = DTYPE_BYTES.get(dtype);
        if (width == null) {
            throw new ModelFormatException(
                    name,
                    "tensor '" + key + "' has dtype " + printable(dtype) + "; Gradus reads F32, F16, BF16, F64, I64,"
                            + " I32, I16, I8, U8 and BOOL tensors (as float32)");
        }
        if (offs.length != 2) {
            throw new ModelFormatException(
                    name, "tensor '" + key + "' needs two data_offsets, has " + Arrays.toString(offs));
        }
        int[] dims = new int[shape.length];
        long count = 1;
        for (int i = 0; i < dims.length; i++) {
            if (shape[i] > Integer.MAX_VALUE) {
                throw new ModelFormatException(
                        name,
                        "tensor '" + key + "' has shape " + Arrays.toString(shape) + ": dimension " + i
                                + " is larger than a Java array");
            }
            dims[i] = (int) shape[i];
        }
        long bytes;
        try {
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count, (long) width);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(
                    name,
                    "tensor '" + key + "' of shape " + Arrays.toString(shape) + " (" + dtype
                            + ") has more bytes than a 64-bit size holds");
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(
                    name,
                    "tensor '" + key + "' of shape " + Arrays.toString(shape)
                            + " has more elements than one Java array can hold");
        }
        if (offs[1] < offs[0] || offs[1] - offs[0] != bytes) {
            throw new ModelFormatException(
                    name,
                    "tensor '" + key + "' of shape " + Arrays.toString(shape) + " (" + dtype + ") needs " + bytes
                            + " bytes but its data_offsets are [" + offs[0] + ", " + offs[1] + "]");
        }
        return new Info(key, dtype, dims, count, offs[0], offs[1]);
    }

    /** An array of non-negative integers (a shape, offsets), each checked where it is read. */
    private static long[] integers(String name, String field, JsonParser p, JsonToken t) throws IOException {
        if (t != JsonToken.START_ARRAY) {
            throw new ModelFormatException(name, field + " should be an array of integers, found " + t);
        }
        List<Long> out = new ArrayList<>();
        JsonToken v;
        while ((v = p.nextToken()) != JsonToken.END_ARRAY) {
            if (v != JsonToken.VALUE_NUMBER_INT) {
                throw new ModelFormatException(
                        name,
                        field + " element " + out.size() + " should be a non-negative integer, found " + v
                                + (v != null && v.isScalarValue() ? " " + printable(p.getText()) : ""));
            }
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() < 0) {
                throw new ModelFormatException(
                        name,
                        field + " element " + out.size() + " is " + printable(p.getText())
                                + ", not an integer in [0, 2^63)");
            }
            if (out.size() >= 1024) {
                throw new ModelFormatException(name, field + " has more than 1024 elements");
            }
            out.add(p.getLongValue());
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    /** A value from the file for a message: one line, at most 40 characters. */
    private static String printable(String s) {
        if (s == null) {
            return "null";
        }
        String one = s.replaceAll("\\p{Cntrl}", "?");
        return one.length() > 40 ? one.substring(0, 40) + "..." : one;
    }

    private static void expect(JsonToken got, JsonToken want, String name, String where) throws ModelFormatException {
        if (got != want) {
            throw new ModelFormatException(name, "corrupt header: " + where + " should be " + want + ", found " + got);
        }
    }

    /**
     * Loads a file written for the same architecture into {@code model}'s parameters and buffers.
     *
     * @throws IllegalArgumentException listing every missing, unexpected and mis-shaped tensor (nothing is
     *                                  changed then)
     */
    public static void load(Module model, Path file) throws IOException {
        load(model, read(file), file.toString());
    }

    /**
     * As {@link #load(Module, Path)} for contents already {@linkplain #read read} (e.g. to choose the architecture
     * from their metadata first); {@code source} names them in messages.
     */
    public static void load(Module model, Contents contents, String source) {
        loadInto(model, contents, "", source, true);
    }

    /**
     * As {@link #load(Module, Path)}; with {@code strict} false (PyTorch's {@code strict=False}) the names present in
     * both are loaded and the others reported instead of refused. Tensors of other dtypes are converted to float32;
     * a conversion that rounded values is logged.
     *
     * @throws IllegalArgumentException for a tensor whose shape differs from the model's, strict or not
     */
    public static LoadReport load(Module model, Path file, boolean strict) throws IOException {
        Contents c = read(file);
        for (String note : c.conversions()) {
            LOG.warn("{}: {}", file, note);
        }
        return loadInto(model, c, "", file.toString(), strict);
    }

    /**
     * Loads the tensors of {@code c} named {@code prefix + name} into {@code model}. Strict: any missing, unexpected
     * or mis-shaped tensor refuses the whole file; otherwise only a mis-shaped one does, and the rest is reported.
     * Nothing is changed when it throws.
     */
    static LoadReport loadInto(Module model, Contents c, String prefix, String file, boolean strict) {
        Plan plan = plan(model, c, prefix, file, strict);
        plan.apply().run();
        return plan.report();
    }

    /** A checked load: what it will leave out, and the writes, not done yet. */
    record Plan(LoadReport report, Runnable apply) {}

    /**
     * Checks the tensors of {@code c} named {@code prefix + name} against {@code model} as {@link #loadInto} does,
     * changing nothing; {@link Plan#apply()} then writes them.
     */
    static Plan plan(Module model, Contents c, String prefix, String file, boolean strict) {
        if (prefix.isEmpty() && "1".equals(c.metadata().get("gradus.checkpoint"))) {
            // Its tensors are model.* and optimizer.*: strict, every tensor would be listed as missing; not strict,
            // nothing would load and the model would silently keep its weights.
            throw new IllegalArgumentException(file + " is a Gradus checkpoint (model, optimizer and schedule), not a"
                    + " model file: load it with Checkpoint.load");
        }
        Map<String, Tensor> targets = new LinkedHashMap<>();
        model.namedParameters().forEach((k, t) -> targets.put(prefix + k, t));
        model.namedBuffers().forEach((k, t) -> targets.put(prefix + k, t));
        List<String> problems = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : targets.entrySet()) {
            Entry got = c.tensors().get(e.getKey());
            if (got == null) {
                missing.add(e.getKey());
                // A file from before batch norm saved its counter (or from a PyTorch model without one) still
                // loads strictly, the count left at 0, as PyTorch loads such state dicts.
                if (!Module.isBatchCounter(e.getKey())) {
                    problems.add("missing '" + e.getKey() + "' " + e.getValue().shape());
                }
            } else if (!Shape.of(got.shape()).equals(e.getValue().shape())) {
                String p = "'" + e.getKey() + "' has shape " + Arrays.toString(got.shape()) + " in the file, "
                        + e.getValue().shape() + " in the model";
                misShaped.add(p);
                problems.add(p);
            }
        }
        for (String k : c.tensors().keySet()) {
            if (k.startsWith(prefix) && !targets.containsKey(k)) {
                unexpected.add(k);
                problems.add("unexpected '" + clip(k) + "' "
                        + Arrays.toString(c.tensors().get(k).shape()));
            }
        }
        if (strict && !problems.isEmpty()) {
            String saved = c.metadata().get("gradus.architecture");
            throw new IllegalArgumentException(file + " does not match the model: " + firstFew(problems)
                    + (saved != null
                            ? "; file architecture: " + clip(saved) + "; model architecture: "
                                    + clip(architecture(model))
                            : ""));
        }
        if (!misShaped.isEmpty()) {
            throw new IllegalArgumentException(file + ": " + firstFew(misShaped));
        }
        Runnable apply = () -> {
            for (Map.Entry<String, Tensor> e : targets.entrySet()) {
                Entry got = c.tensors().get(e.getKey());
                if (got != null) {
                    Tensor t = e.getValue();
                    t.backend().write(t.operand().storage(), t.layout().offset(), got.values(), 0, got.values().length);
                }
            }
        };
        return new Plan(new LoadReport(List.copyOf(missing), List.copyOf(unexpected)), apply);
    }

    /** Messages list at most this many problems, then how many more there are. */
    static final int LISTED = 5;

    /** The first {@link #LISTED} of {@code problems} and a count of the rest: a hostile file's message stays short. */
    static String firstFew(List<String> problems) {
        String head = String.join("; ", problems.subList(0, Math.min(LISTED, problems.size())));
        return problems.size() <= LISTED ? head : head + "; and " + (problems.size() - LISTED) + " more";
    }

    /** A string from a file, on one line and at most 300 characters. */
    private static String clip(String s) {
        String one = s.replaceAll("\\s+", " ");
        return one.length() <= 300 ? one : one.substring(0, 300) + "... (" + one.length() + " characters)";
    }
}
