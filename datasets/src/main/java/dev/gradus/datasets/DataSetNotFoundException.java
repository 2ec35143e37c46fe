package dev.gradus.datasets;

import java.io.FileNotFoundException;

/**
 * A data set found in none of the places looked (the message lists them and how to provide the files); an
 * application may add its own hint, such as the command-line option that names the folder.
 */
public class DataSetNotFoundException extends FileNotFoundException {
    private final String dataSet;
    private final boolean offline;

    public DataSetNotFoundException(String dataSet, boolean offline, String message) {
        super(message);
        this.dataSet = dataSet;
        this.offline = offline;
    }

    /** The data set's name, as {@code mnist}. */
    public String dataSet() {
        return dataSet;
    }

    /** True when downloading it was forbidden (offline mode). */
    public boolean offline() {
        return offline;
    }
}
