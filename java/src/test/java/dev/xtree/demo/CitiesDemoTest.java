package dev.xtree.demo;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.List;
import org.junit.BeforeClass;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Data loading of {@link CitiesDemo} on the real file, its CSV reader, and one full run. */
public class CitiesDemoTest {
    private static Path file;
    private static List<CitiesDemo.City> cities;

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    @BeforeClass
    public static void load() throws IOException {
        file = Paths.get(System.getProperty("xtree.cities.path", "data/cities1000.csv.gz"));
        cities = CitiesDemo.load(file);
    }

    @Test
    public void loadsEveryRow() {
        assertEquals(CitiesDemo.EXPECTED_ROWS, cities.size());
        for (int i = 0; i < cities.size(); i++) {
            assertEquals(i, cities.get(i).rowId);
        }
        CitiesDemo.City first = cities.get(0);
        assertEquals("El Tarter", first.name);
        assertEquals(42.57952, first.lat, 0);
        assertEquals(1.65362, first.lon, 0);
        assertEquals("AD", first.cc);
    }

    @Test
    public void knownCityIsWhereGeoNamesPutsIt() {
        CitiesDemo.City paris = cities.get(51653);
        assertEquals("Paris", paris.name);
        assertEquals("Ile-de-France", paris.admin1);
        assertEquals("Paris", paris.admin2);
        assertEquals("FR", paris.cc);
        assertEquals(48.85341, paris.lat, 0);
        assertEquals(2.3488, paris.lon, 0);
    }

    @Test
    public void quotedFieldsWithCommasAndQuotesParse() {
        assertTrue(cities.stream().anyMatch(c -> c.name.equals("Rueti / Dorfzentrum, Suedl. Teil")
                && c.cc.equals("CH")));
        assertTrue(cities.stream().anyMatch(c -> c.name.equals("T\"boli")
                && c.admin1.equals("Davao")));
        assertTrue(cities.stream().anyMatch(c -> c.name.equals("Mountain")
                && c.admin1.equals("Archipielago de San Andres, Providencia y Santa Catalina")));
        for (CitiesDemo.City c : cities) {
            assertTrue(c.toString(), c.cc.length() == 2);
            assertTrue(c.toString(), c.lat >= -90 && c.lat <= 90 && c.lon >= -180 && c.lon <= 180);
        }
    }

    @Test
    public void csvReaderFollowsRfc4180() throws IOException {
        CitiesDemo.CsvReader csv = new CitiesDemo.CsvReader(new StringReader(
                "a,\"b,c\",\"d\"\"e\"\r\n,\"multi\nline\",\r\nlast,row"));
        assertEquals(Arrays.asList("a", "b,c", "d\"e"), csv.next());
        assertEquals(Arrays.asList("", "multi\nline", ""), csv.next());
        assertEquals(Arrays.asList("last", "row"), csv.next());
        assertEquals(null, csv.next());
    }

    @Test
    public void demoRunsAndVerifiesItself() throws IOException {
        // A data directory of an earlier run (here: of a first run) is wiped, not reused.
        Path dataDir = tmp.getRoot().toPath().resolve("demo-data");
        for (int run = 0; run < 2; run++) {
            String text = runDemo(dataDir);
            assertTrue(text, text.contains("Indexed 144,563 (lon, lat) points"));
            assertTrue(text, text.contains("deg  Paris, Ile-de-France (FR)  (row 51653,"));
            assertTrue(text, text.contains("insertBatch + commit of 144,563 points"));
            assertTrue(text, text.contains("reopen (recovery): "));
            assertTrue(text, text.contains("; 144,563 cities"));
            assertTrue(text, text.contains("12 named queries answered after reopen"));
            assertTrue(text, text.contains("verified against brute force"));
        }
    }

    @Test
    public void demoRefusesToWipeAForeignDirectory() throws IOException {
        Path dataDir = tmp.newFolder("not-xtree").toPath();
        Path precious = Files.write(dataDir.resolve("precious.txt"), new byte[] {1});
        IOException e = assertThrows(IOException.class, () -> runDemo(dataDir));
        assertTrue(e.getMessage(), e.getMessage().contains("refusing"));
        assertTrue(Files.exists(precious));
    }

    private static String runDemo(Path dataDir) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            CitiesDemo.run(file, dataDir);
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
