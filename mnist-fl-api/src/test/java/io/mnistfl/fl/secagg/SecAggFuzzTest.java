package io.mnistfl.fl.secagg;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.fl.wire.Messages;
import io.mnistfl.testing.Fuzzing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzz target for what a site of secure aggregation reads from a server: any request, at any stage
 * of a round. The first byte of an input picks the stage the site has reached (advertised, shared,
 * masked, signed), the rest is the request; only {@link IOException} may come out. Seeds in {@code
 * src/test/resources/io/mnistfl/fl/secagg/SecAggFuzzTestInputs/}, written by {@link #main}.
 */
class SecAggFuzzTest {
  private static final byte[] SESSION = new byte[16];
  private static final IdentityVerifier ANYONE = (id, credential, message, signature) -> {};
  private static final SimulatedIdentities IDS = new SimulatedIdentities();
  private static final Client CLIENT = new SecureAggregationTest.Drift("s0", 100);
  private static final List<String> SITES = List.of("s0", "s1", "s2");

  /** The requests of one honest round for s0, made the same way every time. */
  private record Round(
      byte[] advertise, byte[] share, byte[] mask, byte[] consistency, byte[] unmask) {}

  private static SecAggSite site(String id) {
    return new SecAggSite(
        IDS.of(id),
        ANYONE,
        (share, holder, kind) -> share,
        SecureAggregationTest.seeded(id.hashCode()));
  }

  private static byte[] advertise(String id) {
    List<String> others = SITES.stream().filter(s -> !s.equals(id)).toList();
    return SecureAggregationTest.advertise(SESSION, id, others);
  }

  private static Body.Writer header(String id) {
    return new Body.Writer().fixed(SESSION).i32(1).string(id);
  }

  /** Runs s0 (and its two neighbours) through the stages before {@code stage}. */
  private static SecAggSite at(int stage, Round[] out) throws Exception {
    SecAggSite[] sites = {site("s0"), site("s1"), site("s2")};
    byte[][] adverts = new byte[3][];
    for (int i = 0; i < 3; i++) {
      adverts[i] = sites[i].handle(advertise(SITES.get(i)), CLIENT, SiteLimits.defaults());
    }
    byte[][] shares = new byte[3][];
    for (int i = 0; i < 3; i++) {
      Body.Writer w = header(SITES.get(i)).u16(2);
      for (int j = 0; j < 3; j++) {
        if (j != i) {
          Body.Reader r = new Body.Reader(adverts[j], Advertisement.KIND, "seed");
          Advertisement.read(r).write(w);
        }
      }
      byte[] request = w.frame(SecureAggregation.SHARE);
      if (i == 0) {
        out[0] = new Round(advertise("s0"), request, null, null, null);
        if (stage == 0) {
          return sites[0];
        }
      }
      shares[i] = sites[i].handle(request, CLIENT, SiteLimits.defaults());
    }
    Body.Writer mask = header("s0").u16(2);
    for (int j = 1; j < 3; j++) {
      Body.Reader r = new Body.Reader(shares[j], SecureAggregation.SHARES, "seed");
      r.string();
      int count = r.u16();
      for (int k = 0; k < count; k++) {
        String holder = r.string();
        byte[] sealed = r.bytes(1024);
        if (holder.equals("s0")) {
          mask.string(SITES.get(j)).bytes(sealed);
        }
      }
    }
    byte[] fit =
        Messages.encodeFit(
            RoundConfig.of(1, SecureAggregationTest.TRAINING), SecureAggregationTest.GLOBAL);
    byte[] maskRequest = mask.bytes(fit).frame(SecureAggregation.MASK);
    byte[] consistency = header("s0").strings(SITES).frame(SecureAggregation.CONSISTENCY);
    Body.Writer unmask = header("s0").u16(2);
    byte[] trainedFrom = SecureAggregation.trainedFrom(SecureAggregationTest.GLOBAL);
    for (int j = 1; j < 3; j++) {
      String signer = SITES.get(j);
      Advertisement ad =
          Advertisement.read(new Body.Reader(adverts[j], Advertisement.KIND, "seed"));
      unmask
          .string(signer)
          .bytes(
              IDS.of(signer)
                  .sign(SecureAggregation.survivorsSigned(SESSION, 1, SITES, ad, trainedFrom)));
    }
    out[0] =
        new Round(
            out[0].advertise(),
            out[0].share(),
            maskRequest,
            consistency,
            unmask.frame(SecureAggregation.UNMASK));
    if (stage == 1) {
      return sites[0];
    }
    sites[0].handle(maskRequest, CLIENT, SiteLimits.defaults());
    if (stage == 2) {
      return sites[0];
    }
    sites[0].handle(consistency, CLIENT, SiteLimits.defaults());
    return sites[0];
  }

  @FuzzTest
  void siteRequests(byte[] input) throws Exception {
    if (input.length < 1) {
      return;
    }
    byte[] request = Arrays.copyOfRange(input, 1, input.length);
    long cap = 16L * request.length + (1 << 20);
    for (byte[] b : new byte[][] {request, Fuzzing.withValidCrc(request)}) {
      SecAggSite site = at(Math.floorMod(input[0], 4), new Round[1]);
      Fuzzing.expectOnly(
          cap, () -> site.handle(b, CLIENT, SiteLimits.defaults()), IOException.class);
    }
  }

  private static final String[] ANSWER_KINDS = {
    Advertisement.KIND,
    SecureAggregation.SHARES,
    SecureAggregation.MASKED,
    SecureAggregation.SIGNED,
    SecureAggregation.REVEALED
  };

  /**
   * A round of three sites in which s0's answer at one stage is {@code answer} (or, when null, its
   * honest one, which {@code honest} records); the server's randomness is seeded too.
   */
  private static SecureAggregation.Unmasked roundWith(int stage, byte[] answer, byte[][] honest) {
    List<io.mnistfl.fl.site.ClientRuntime> runtimes = new java.util.ArrayList<>();
    for (String id : SITES) {
      runtimes.add(
          io.mnistfl.fl.site.ClientRuntime.of(new SecureAggregationTest.Drift(id, 100))
              .withStages(site(id)));
    }
    SecureAggregationTest.Wire wire =
        new SecureAggregationTest.Wire(io.mnistfl.fl.sim.InProcessTransport.ofRuntimes(runtimes));
    wire.answers =
        (id, bytes) -> {
          String kind = io.mnistfl.fl.wire.Frame.kind(bytes).orElse("");
          if (!id.equals("s0") || !kind.equals(ANSWER_KINDS[stage])) {
            return bytes;
          }
          honest[0] = bytes;
          return answer == null ? bytes : answer;
        };
    List<io.mnistfl.fl.server.SiteInstruction> instructions =
        SITES.stream()
            .map(
                id ->
                    new io.mnistfl.fl.server.SiteInstruction(
                        id, RoundConfig.of(1, SecureAggregationTest.TRAINING)))
            .toList();
    return SecureAggregation.of(SecAggConfig.defaults(), ANYONE)
        .withRandom(SecureAggregationTest.seeded(7))
        .unmask(SecureAggregationTest.round(), instructions, wire);
  }

  @FuzzTest
  void serverReadsAnswers(byte[] input) {
    if (input.length < 1) {
      return;
    }
    byte[] answer = Arrays.copyOfRange(input, 1, input.length);
    long cap = 16L * answer.length + (4 << 20);
    for (byte[] b : new byte[][] {answer, Fuzzing.withValidCrc(answer)}) {
      Fuzzing.expectOnly(
          cap,
          () -> roundWith(Math.floorMod(input[0], ANSWER_KINDS.length), b, new byte[1][]),
          io.mnistfl.fl.server.RoundAbandonedException.class);
    }
  }

  /** The committed seeds are still an honest round, so the fuzzer starts from valid requests. */
  @org.junit.jupiter.api.Test
  void theSeedsAreAnsweredAtTheirStages() throws Exception {
    Path dir = Path.of("src/test/resources/io/mnistfl/fl/secagg/SecAggFuzzTestInputs/siteRequests");
    for (String name : List.of("advertise", "share", "mask", "consistency", "unmask")) {
      byte[] seed = Files.readAllBytes(dir.resolve(name));
      SecAggSite site = at(seed[0], new Round[1]);
      org.assertj.core.api.Assertions.assertThat(
              site.handle(Arrays.copyOfRange(seed, 1, seed.length), CLIENT, SiteLimits.defaults()))
          .as(name)
          .isNotEmpty();
    }
  }

  /** Writes the seeds: each stage's honest request and answer, at the stage it belongs to. */
  public static void main(String[] args) throws Exception {
    Path answers = Path.of(args[0]).resolveSibling("serverReadsAnswers");
    Files.createDirectories(answers);
    String[] stageNames = {"advertisement", "shares", "masked", "signed", "revealed"};
    for (int stage = 0; stage < stageNames.length; stage++) {
      byte[][] honest = new byte[1][];
      roundWith(stage, null, honest);
      byte[] seed = new byte[honest[0].length + 1];
      seed[0] = (byte) stage;
      System.arraycopy(honest[0], 0, seed, 1, honest[0].length);
      Files.write(answers.resolve(stageNames[stage]), seed);
    }
    Path dir = Path.of(args[0]);
    Files.createDirectories(dir);
    Round[] round = new Round[1];
    at(3, round);
    byte[][] requests = {
      round[0].advertise(),
      round[0].share(),
      round[0].mask(),
      round[0].consistency(),
      round[0].unmask()
    };
    String[] names = {"advertise", "share", "mask", "consistency", "unmask"};
    int[] stages = {0, 0, 1, 2, 3};
    for (int i = 0; i < requests.length; i++) {
      byte[] seed = new byte[requests[i].length + 1];
      seed[0] = (byte) stages[i];
      System.arraycopy(requests[i], 0, seed, 1, requests[i].length);
      Files.write(dir.resolve(names[i]), seed);
    }
  }

  // Last, so that every constant above is set when it runs.
  static {
    // One-time costs (Jackson, the JDK's providers) are not an input's to pay.
    try {
      at(3, new Round[1]);
      roundWith(0, null, new byte[1][]);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }
}
