package dev.gradus.datasets;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gradus.testing.Fuzz;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random bytes and mutations of valid IDX and Kaggle CSV files: each input loads or is rejected with the
 * reader's documented exception ({@link IdxFormatException}, {@link CsvFormatException}); nothing hangs and
 * nothing else escapes.
 */
class FuzzTest {
    @TempDir
    Path tmp;

    private byte[] idx(String name, Idx.Type type, int[] dims, byte[] data, boolean gzip) throws IOException {
        Path p = tmp.resolve(name + (gzip ? ".gz" : ""));
        Idx.write(p, type, dims, data);
        return Files.readAllBytes(p);
    }

    @Test
    void idxReaderLoadsOrThrowsIdxFormatException() throws IOException {
        byte[] pixels = new byte[5 * 28 * 28];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 31);
        }
        byte[] images = idx("images-idx3-ubyte", Idx.Type.UBYTE, new int[] {5, 28, 28}, pixels, false);
        byte[] labels = idx("labels-idx1-ubyte", Idx.Type.UBYTE, new int[] {5}, new byte[] {1, 2, 3, 4, 5}, false);
        byte[] floats = idx("floats-idx2", Idx.Type.FLOAT, new int[] {3, 4}, new byte[48], false);
        var plain = Fuzz.reader("idx", Idx::read)
                .documented(e -> e instanceof IdxFormatException)
                .run(tmp, List.of(images, labels, floats), 3_000, 11);
        var packed = Fuzz.reader("idx-gz", Idx::read)
                .documented(e -> e instanceof IdxFormatException)
                .run(
                        tmp,
                        List.of(DownloadTest.gzip(images), DownloadTest.gzip(labels), DownloadTest.gzip(floats)),
                        2_000,
                        12);
        assertTrue(plain.rejected() > 1_000 && plain.loaded() > 50, plain.toString());
        assertTrue(packed.rejected() > 1_000, packed.toString());
    }

    @Test
    void kaggleReadersLoadOrThrowCsvFormatException() throws IOException {
        Dataset d = KaggleDigitsTest.small(4);
        Path train = tmp.resolve("train.csv");
        Path test = tmp.resolve("test.csv");
        Path sub = tmp.resolve("submission.csv");
        KaggleDigits.writeTrain(train, d);
        KaggleDigits.writeTest(test, d);
        KaggleDigits.writeSubmission(sub, new int[] {3, 1, 4, 1, 5, 9, 2, 6});
        List<byte[]> valid = List.of(Files.readAllBytes(train), Files.readAllBytes(test));
        var asTrain = Fuzz.reader("train-csv", KaggleDigits::readTrain)
                .text()
                .documented(e -> e instanceof CsvFormatException)
                .run(tmp, valid, 1_500, 21);
        var asTest = Fuzz.reader("test-csv", KaggleDigits::readTest)
                .text()
                .documented(e -> e instanceof CsvFormatException)
                .run(tmp, valid, 1_500, 22);
        var asSubmission = Fuzz.reader("submission-csv", KaggleDigits::readSubmission)
                .text()
                .documented(e -> e instanceof CsvFormatException)
                .run(tmp, List.of(Files.readAllBytes(sub)), 3_000, 23);
        assertTrue(asTrain.rejected() > 500 && asTrain.loaded() > 0, asTrain.toString());
        assertTrue(asTest.rejected() > 500 && asTest.loaded() > 0, asTest.toString());
        assertTrue(asSubmission.rejected() > 500 && asSubmission.loaded() > 50, asSubmission.toString());
    }
}
