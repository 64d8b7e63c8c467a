package dev.xtree.demo;

import dev.xtree.Durability;
import dev.xtree.IndexDetails;
import dev.xtree.PersistenceMode;
import dev.xtree.SearchCursor;
import dev.xtree.SearchType;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

/**
 * The GeoNames cities demo ({@code ./gradlew demo}): loads {@code data/cities1000.csv.gz} into an
 * in-memory index of (lon, lat) points, answers box and nearest-neighbour queries, deletes and
 * re-inserts a city, and checks every answer against a brute-force scan of the same data. Then
 * it builds a {@link PersistenceMode#DURABLE} index of the same cities in a data directory,
 * commits, closes, reopens it, and checks that the same named queries give the same answers.
 */
public final class CitiesDemo {
    /** Number of data rows in {@code data/cities1000.csv.gz}. */
    public static final int EXPECTED_ROWS = 144_563;

    private static final String HEADER = "lat,lon,name,admin1,admin2,cc";

    private CitiesDemo() {}

    /** One data row; its row id is its 0-based position among the data rows. */
    public static final class City {
        /** Row id: the 0-based data-row number (the header is not a row). */
        public final long rowId;
        /** Latitude in decimal degrees (WGS84). */
        public final double lat;
        /** Longitude in decimal degrees (WGS84). */
        public final double lon;
        /** Place name. */
        public final String name;
        /** First-level administrative division (may be empty). */
        public final String admin1;
        /** Second-level administrative division (may be empty). */
        public final String admin2;
        /** ISO 3166-1 alpha-2 country code. */
        public final String cc;

        City(long rowId, double lat, double lon, String name, String admin1, String admin2,
                String cc) {
            this.rowId = rowId;
            this.lat = lat;
            this.lon = lon;
            this.name = name;
            this.admin1 = admin1;
            this.admin2 = admin2;
            this.cc = cc;
        }

        /** @return the indexed point, {lon, lat} */
        double[] point() {
            return new double[] {lon, lat};
        }

        @Override
        public String toString() {
            return name + (admin1.isEmpty() ? "" : ", " + admin1) + " (" + cc + ")";
        }
    }

    /**
     * Reads the cities file: gzip-compressed UTF-8 CSV (RFC 4180: fields may be quoted, quoted
     * fields may hold commas, line breaks and doubled quotes; lines end in CRLF or LF) with the
     * header {@code lat,lon,name,admin1,admin2,cc}.
     *
     * @param file path of {@code cities1000.csv.gz}
     * @return the cities in file order; {@code get(i).rowId == i}
     * @throws IOException if the file cannot be read or a row is malformed (the message names
     *     the line)
     */
    public static List<City> load(Path file) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16);
                Reader reader = new BufferedReader(
                        new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16)) {
            CsvReader csv = new CsvReader(reader);
            List<String> header = csv.next();
            if (header == null || !String.join(",", header).equals(HEADER)) {
                throw new IOException(file + ": header is " + header + ", expected " + HEADER);
            }
            List<City> cities = new ArrayList<>(EXPECTED_ROWS);
            for (List<String> row = csv.next(); row != null; row = csv.next()) {
                if (row.size() != 6) {
                    throw new IOException(file + " line " + csv.line() + ": " + row.size()
                            + " fields, expected 6: " + row);
                }
                try {
                    cities.add(new City(cities.size(), Double.parseDouble(row.get(0)),
                            Double.parseDouble(row.get(1)), row.get(2), row.get(3), row.get(4),
                            row.get(5)));
                } catch (NumberFormatException e) {
                    throw new IOException(file + " line " + csv.line() + ": bad coordinate: "
                            + e.getMessage(), e);
                }
            }
            return cities;
        }
    }

    /** A minimal RFC 4180 reader: one record per call to {@link #next()}. */
    static final class CsvReader {
        private final Reader in;
        private final char[] buf = new char[1 << 16];
        private int pos;
        private int end;
        private int line = 1;
        private int recordLine = 1;
        private int pushedBack = -2;

        CsvReader(Reader in) {
            this.in = in;
        }

        /** The line on which the last record returned by {@link #next()} started (1-based). */
        int line() {
            return recordLine;
        }

        /** The next character, or -1 at end of input; buffered here, not per call in Reader. */
        private int read() throws IOException {
            if (pushedBack != -2) {
                int c = pushedBack;
                pushedBack = -2;
                return c;
            }
            if (pos == end) {
                end = in.read(buf, 0, buf.length);
                pos = 0;
                if (end <= 0) {
                    end = 0;
                    return -1;
                }
            }
            char c = buf[pos++];
            if (c == '\n') {
                line++;
            }
            return c;
        }

        /**
         * @return the fields of the next record, or null at end of input
         * @throws IOException on a read error or an unterminated quoted field
         */
        List<String> next() throws IOException {
            recordLine = line;
            int c = read();
            if (c == -1) {
                return null;
            }
            List<String> fields = new ArrayList<>(6);
            StringBuilder field = new StringBuilder();
            while (true) {
                if (c == '"' && field.length() == 0) {
                    // Quoted field: runs to the closing quote; "" is a literal quote.
                    while (true) {
                        c = read();
                        if (c == -1) {
                            throw new IOException("line " + recordLine + ": unterminated quote");
                        }
                        if (c == '"') {
                            c = read();
                            if (c != '"') {
                                break;
                            }
                        }
                        field.append((char) c);
                    }
                    continue; // c is the character after the closing quote
                }
                if (c == ',') {
                    fields.add(field.toString());
                    field.setLength(0);
                } else if (c == '\r' || c == '\n' || c == -1) {
                    if (c == '\r') {
                        int d = read();
                        if (d != '\n') {
                            pushedBack = d;
                        }
                    }
                    fields.add(field.toString());
                    return fields;
                } else {
                    field.append((char) c);
                }
                c = read();
            }
        }
    }

    /** The (lon, lat) of every city, row-major, as {@link IndexDetails#insertBatch} takes them. */
    static double[] coordinates(List<City> cities) {
        double[] coords = new double[2 * cities.size()];
        for (City c : cities) {
            coords[(int) (2 * c.rowId)] = c.lon;
            coords[(int) (2 * c.rowId + 1)] = c.lat;
        }
        return coords;
    }

    /** Brute force: row ids of cities inside the closed box, sorted. */
    static long[] scan(List<City> cities, double[] min, double[] max) {
        return cities.stream()
                .filter(c -> c.lon >= min[0] && c.lon <= max[0] && c.lat >= min[1]
                        && c.lat <= max[1])
                .mapToLong(c -> c.rowId)
                .toArray();
    }

    /** Euclidean distance in degrees between a city and a (lon, lat) point. */
    static double degrees(City c, double[] p) {
        return Math.hypot(c.lon - p[0], c.lat - p[1]);
    }

    /** Brute force: the k nearest cities, ties by row id (row ids here are non-negative). */
    static long[] scanNearest(List<City> cities, double[] p, int k) {
        return cities.stream()
                .sorted(Comparator.<City>comparingDouble(c -> degrees(c, p))
                        .thenComparingLong(c -> c.rowId))
                .limit(k)
                .mapToLong(c -> c.rowId)
                .toArray();
    }

    private static void check(boolean ok, String what) {
        check(ok, what, "brute-force");
    }

    private static void check(boolean ok, String what, String kind) {
        if (!ok) {
            throw new IllegalStateException(kind + " check failed: " + what);
        }
    }

    private static long[] sorted(long[] a) {
        long[] b = a.clone();
        Arrays.sort(b);
        return b;
    }

    /** Names of up to {@code max} of the cities {@code ids}, those nearest {@code centre}. */
    private static String names(List<City> cities, long[] ids, double[] centre, int max) {
        return Arrays.stream(ids)
                .mapToObj(id -> cities.get((int) id))
                .sorted(Comparator.<City>comparingDouble(c -> degrees(c, centre))
                        .thenComparingLong(c -> c.rowId))
                .limit(max)
                .map(c -> c.name)
                .collect(Collectors.joining(", "));
    }

    /** A named query box in (lon, lat) degrees. */
    private static final class Area {
        final String name;
        final double[] min;
        final double[] max;

        Area(String name, double lonMin, double lonMax, double latMin, double latMax) {
            this.name = name;
            this.min = new double[] {lonMin, latMin};
            this.max = new double[] {lonMax, latMax};
        }
    }

    /** The box queries of the demo; {@code AREAS[1]} is Europe. */
    private static final Area[] AREAS = {
        new Area("San Francisco Bay Area", -123.0, -121.5, 37.0, 38.5),
        new Area("Europe", -25, 45, 34, 72),
        new Area("Greater Tokyo", 139.0, 140.5, 35.0, 36.5),
        new Area("Iceland", -25, -13, 63, 67),
        new Area("Southern hemisphere", -180, 180, -90, 0),
    };

    /** The nearest-neighbour query point: Paris, (lon, lat). */
    private static final double[] PARIS = {2.3522, 48.8566};

    /**
     * Every named query of the demo asked of {@code index}: per area its count and sorted row
     * ids, Europe read through a cursor (sorted), and the 5 cities nearest to Paris in order.
     */
    private static Map<String, long[]> namedAnswers(IndexDetails index) {
        Map<String, long[]> answers = new LinkedHashMap<>();
        for (Area a : AREAS) {
            answers.put(a.name + " count",
                    new long[] {index.count(SearchType.WITHIN, a.min, a.max)});
            answers.put(a.name + " search", sorted(index.search(SearchType.WITHIN, a.min, a.max)));
        }
        Area europe = AREAS[1];
        List<long[]> pages = new ArrayList<>();
        try (SearchCursor cursor = index.cursor(SearchType.WITHIN, europe.min, europe.max)) {
            for (long[] p = cursor.nextPage(10_000); p.length > 0; p = cursor.nextPage(10_000)) {
                pages.add(p);
            }
        }
        answers.put("Europe cursor", sorted(pages.stream().flatMapToLong(Arrays::stream)
                .toArray()));
        answers.put("5 nearest to Paris", index.nearest(PARIS, 5));
        return answers;
    }

    /**
     * Deletes the data directory of an earlier demo run: only an empty directory or one holding
     * an xtree {@code SUPERBLOCK} file (a data directory is flat), never anything else.
     */
    private static void wipeDataDir(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new IOException(dir + " is not a directory; refusing to use it as data dir");
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            entries.forEach(files::add);
        }
        if (!files.isEmpty() && !Files.exists(dir.resolve("SUPERBLOCK"))) {
            throw new IOException(dir + " is not empty and not an xtree data directory"
                    + " (no SUPERBLOCK); refusing to wipe it");
        }
        for (Path f : files) {
            Files.delete(f);
        }
        Files.delete(dir);
    }

    /** Total size in bytes of the files of a (flat) data directory. */
    private static long sizeOnDisk(Path dir) throws IOException {
        long total = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path f : entries) {
                total += Files.size(f);
            }
        }
        return total;
    }

    /**
     * The durable part of the demo: builds a DURABLE index of the cities in {@code dataDir}
     * (new or empty), commits, closes, reopens, and checks that every named query answers as the
     * in-memory index did ({@code expected}).
     */
    private static void runDurable(long[] ids, double[] coords, Path dataDir,
            Map<String, long[]> expected) throws IOException {
        String dir = dataDir.toString();
        Durability durability = Durability.BALANCED;
        IndexDetails.Options options = new IndexDetails.Options().durability(durability);
        String[] labels = {"lon", "lat"};
        System.out.println();
        System.out.printf(Locale.ROOT, "Durable index (%s) in %s:%n", durability, dir);

        long t0 = System.nanoTime();
        IndexDetails index = new IndexDetails(2, 64, labels, PersistenceMode.DURABLE, dir,
                options);
        long epoch;
        long t1;
        try {
            index.insertBatch(ids, coords);
            check(index.size() == 0, "uncommitted writes are invisible", "durable");
            epoch = index.commit();
            t1 = System.nanoTime();
            check(index.size() == ids.length, "size after commit", "durable");
        } finally {
            index.close();
        }
        long t2 = System.nanoTime();
        System.out.printf(Locale.ROOT, "  open + insertBatch + commit of %,d points: %.0f ms"
                + " (epoch %d)%n", ids.length, (t1 - t0) / 1e6, epoch);
        System.out.printf(Locale.ROOT, "  close (final sync + checkpoint): %.0f ms; %.1f MB on"
                + " disk%n", (t2 - t1) / 1e6, sizeOnDisk(dataDir) / 1e6);

        long t3 = System.nanoTime();
        try (IndexDetails reopened = new IndexDetails(2, 64, labels, PersistenceMode.DURABLE,
                dir, options)) {
            long t4 = System.nanoTime();
            System.out.printf(Locale.ROOT, "  reopen (recovery): %.0f ms; %,d cities%n",
                    (t4 - t3) / 1e6, reopened.size());
            check(reopened.size() == ids.length, "size after reopen", "durable");
            Map<String, long[]> got = namedAnswers(reopened);
            long t5 = System.nanoTime();
            check(got.keySet().equals(expected.keySet()), "the same named queries", "durable");
            for (Map.Entry<String, long[]> e : expected.entrySet()) {
                check(Arrays.equals(got.get(e.getKey()), e.getValue()), e.getKey()
                        + " after reopen equals the in-memory answer", "durable");
            }
            System.out.printf(Locale.ROOT, "  %d named queries answered after reopen in %.0f ms,"
                    + " each equal to the in-memory answer%n", got.size(), (t5 - t4) / 1e6);
        }
    }

    /**
     * Runs the demo: loads the file, queries an in-memory index and verifies it against brute
     * force, then builds, closes and reopens a durable index in {@code dataDir} and verifies its
     * answers equal the in-memory ones; prints a report.
     *
     * @param file path of {@code cities1000.csv.gz}
     * @param dataDir data directory of the durable index; deleted first if it exists (only if
     *     it is empty or an xtree data directory)
     * @throws IOException if the file cannot be read, or {@code dataDir} cannot be wiped
     * @throws IllegalStateException if an index answer differs from the brute-force scan, or a
     *     durable answer from the in-memory one
     */
    public static void run(Path file, Path dataDir) throws IOException {
        wipeDataDir(dataDir);
        long t0 = System.nanoTime();
        List<City> cities = load(file);
        long t1 = System.nanoTime();
        System.out.printf(Locale.ROOT, "Read %,d cities from %s in %.0f ms%n", cities.size(),
                file.getFileName(), (t1 - t0) / 1e6);

        long[] ids = cities.stream().mapToLong(c -> c.rowId).toArray();
        double[] coords = coordinates(cities);
        Map<String, long[]> inMemory;
        try (IndexDetails index = new IndexDetails(2, 64, new String[] {"lon", "lat"},
                PersistenceMode.IN_MEMORY, null)) {
            long t2 = System.nanoTime();
            index.insertBatch(ids, coords);
            long t3 = System.nanoTime();
            System.out.printf(Locale.ROOT, "Indexed %,d (lon, lat) points with insertBatch in"
                    + " %.0f ms (%,.0f points/s)%n", index.size(), (t3 - t2) / 1e6,
                    cities.size() / ((t3 - t2) / 1e9));
            check(index.size() == cities.size(), "size");

            System.out.println();
            System.out.println("Box queries (lon x lat, degrees):");
            for (Area a : AREAS) {
                long qt = System.nanoTime();
                long count = index.count(SearchType.WITHIN, a.min, a.max);
                long[] hits = index.search(SearchType.WITHIN, a.min, a.max);
                double ms = (System.nanoTime() - qt) / 1e6;
                long[] want = scan(cities, a.min, a.max);
                check(count == want.length, a.name + " count");
                check(Arrays.equals(sorted(hits), want), a.name + " search");
                double[] centre = {(a.min[0] + a.max[0]) / 2, (a.min[1] + a.max[1]) / 2};
                System.out.printf(Locale.ROOT, "  %-22s lon %7.2f..%7.2f lat %6.2f..%6.2f:"
                        + " %,6d cities (%.2f ms), nearest the centre: %s%n", a.name, a.min[0],
                        a.max[0], a.min[1], a.max[1], count, ms, names(cities, hits, centre, 3));
            }

            // Europe again, read through a cursor in pages of 10,000 row ids.
            Area europe = AREAS[1];
            long paged = 0;
            int pages = 0;
            try (SearchCursor cursor = index.cursor(SearchType.WITHIN, europe.min, europe.max)) {
                for (long[] p = cursor.nextPage(10_000); p.length > 0;
                        p = cursor.nextPage(10_000)) {
                    paged += p.length;
                    pages++;
                }
            }
            check(paged == scan(cities, europe.min, europe.max).length, "Europe cursor");
            System.out.printf(Locale.ROOT, "  Europe through a cursor: %,d row ids in %d pages"
                    + " of <= 10,000%n", paged, pages);

            double[] paris = PARIS;
            System.out.println();
            System.out.println("The 5 cities nearest to Paris (lon 2.3522, lat 48.8566),"
                    + " planar distance in degrees:");
            long[] near = index.nearest(paris, 5);
            check(Arrays.equals(near, scanNearest(cities, paris, 5)), "nearest to Paris");
            for (int i = 0; i < near.length; i++) {
                City c = cities.get((int) near[i]);
                System.out.printf(Locale.ROOT, "  %d. %.4f deg  %s  (row %d, lon %.5f, lat"
                        + " %.5f)%n", i + 1, degrees(c, paris), c, c.rowId, c.lon, c.lat);
            }

            City gone = cities.get((int) near[0]);
            double[] around = {paris[0] - 0.05, paris[1] - 0.05};
            double[] aroundMax = {paris[0] + 0.05, paris[1] + 0.05};
            long before = index.count(SearchType.WITHIN, around, aroundMax);
            System.out.println();
            System.out.printf(Locale.ROOT, "Delete %s (row %d): %b%n", gone, gone.rowId,
                    index.delete(gone.rowId, gone.point()));
            long[] after = index.search(SearchType.WITHIN, around, aroundMax);
            check(Arrays.stream(after).noneMatch(id -> id == gone.rowId), "deleted city gone");
            check(after.length == before - 1, "count after delete");
            long[] nearAfter = index.nearest(paris, 1);
            System.out.printf(Locale.ROOT, "  within 0.05 deg of Paris: %d -> %d cities;"
                    + " nearest is now %s%n", before, after.length,
                    cities.get((int) nearAfter[0]));
            check(nearAfter[0] == near[1], "nearest after delete");
            index.insert(gone.rowId, gone.point());
            long[] back = index.nearest(paris, 1);
            check(back[0] == gone.rowId, "re-inserted city back");
            check(index.count(SearchType.WITHIN, around, aroundMax) == before, "count restored");
            System.out.printf(Locale.ROOT, "Re-insert it: nearest is %s again; %,d cities"
                    + " indexed%n", cities.get((int) back[0]), index.size());
            inMemory = namedAnswers(index);
        }
        runDurable(ids, coords, dataDir, inMemory);
        System.out.println();
        System.out.println("All answers verified against brute force; the durable index answered"
                + " the same after reopen.");
        System.out.printf(Locale.ROOT, "Total %.0f ms%n", (System.nanoTime() - t0) / 1e6);
    }

    /**
     * Entry point of {@code ./gradlew demo}.
     *
     * @param args the path of {@code cities1000.csv.gz} (default {@code
     *     data/cities1000.csv.gz}), then the data directory of the durable index (default {@code
     *     build/demo-data}; wiped first)
     * @throws IOException if the file cannot be read or the data directory cannot be wiped
     */
    public static void main(String[] args) throws IOException {
        run(Paths.get(args.length > 0 ? args[0] : "data/cities1000.csv.gz"),
                Paths.get(args.length > 1 ? args[1] : "build/demo-data"));
    }
}
