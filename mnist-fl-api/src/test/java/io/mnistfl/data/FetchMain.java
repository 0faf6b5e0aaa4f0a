package io.mnistfl.data;

import java.io.IOException;
import java.net.URI;

/**
 * Loads the standard data sets named in its arguments into the default cache, as a program of a
 * library user would, printing what the library reported: a child JVM of {@link
 * StandardDatasetMirrorsTest}, started with its own environment.
 */
final class FetchMain {
  private FetchMain() {}

  public static void main(String[] args) {
    DownloadListener listener =
        new DownloadListener() {
          @Override
          public void failed(URI url, String reason) {
            System.out.println("failed " + url + " " + reason);
          }

          @Override
          public void verified(URI url, long bytes) {
            System.out.println("verified " + url);
          }

          @Override
          public void fallback(String command) {
            System.out.println("fallback " + command);
          }
        };
    int status = 0;
    for (String id : args) {
      StandardDataset set = StandardDataset.fromId(id);
      try {
        TrainTestData data = set.load(Dataset.defaultCacheRoot().resolve(id), listener);
        System.out.printf(
            "loaded %s %d %d %d %d%n",
            id,
            data.train().size(),
            data.test().size(),
            data.train().label(0),
            data.test().label(0));
      } catch (IOException e) {
        System.out.println("error " + id + " " + e.getMessage());
        status = 1;
      }
    }
    System.exit(status);
  }
}
