package dev.gradus.io;

import java.io.IOException;

/** A model file that is not valid safetensors: the message names the file and what is wrong, with the offset. */
public class ModelFormatException extends IOException {
    public ModelFormatException(String file, String problem) {
        super(file + ": " + problem);
    }

    public ModelFormatException(String file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
