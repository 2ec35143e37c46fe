package dev.gradus.io;

import java.io.IOException;

/**
 * A model file that is not valid safetensors (or not a valid checkpoint): the one-line message names the file and
 * what is wrong, with the tensor, field and offset. Control characters from the file (a tensor name with a line
 * break) are shown as {@code ?} so the message stays one line.
 */
public class ModelFormatException extends IOException {
    public ModelFormatException(String file, String problem) {
        super(oneLine(file + ": " + problem));
    }

    public ModelFormatException(String file, String problem, Throwable cause) {
        super(oneLine(file + ": " + problem), cause);
    }

    private static String oneLine(String s) {
        return s.replaceAll("\\p{Cntrl}", "?");
    }
}
