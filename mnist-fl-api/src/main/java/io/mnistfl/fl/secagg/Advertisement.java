package io.mnistfl.fl.secagg;

import io.mnistfl.fl.wire.MessageFormatException;
import java.util.Arrays;
import java.util.Optional;

/**
 * A site's signed key advertisement: the round's parameters it was sent (t and the scale, which its
 * neighbours must share), its two X25519 public keys (for shares and for masks), commitments to its
 * self-mask seed and its mask key, a commitment to each share it will deal (two per neighbour, in
 * the order of its neighbour list), and the credential its signature is checked against. The share
 * commitments let the server tell a share its owner dealt from one a holder altered, without a
 * signature per share. Its keys are fresh every round, so its digest names the site's run of one
 * round: a site's signature over the survivor set covers it.
 */
record Advertisement(
    String siteId,
    RoundParameters parameters,
    byte[] sharingKey,
    byte[] maskingKey,
    byte[] seedCommitment,
    byte[] keyCommitment,
    byte[] shareCommitments,
    byte[] credential,
    byte[] signature) {

  static final String KIND = "MFC1";

  /** Bytes of the commitments to the two shares of one neighbour. */
  static final int PER_NEIGHBOUR = 64;

  private static final int MAX_NEIGHBOURS = SecAggConfig.MAX_NEIGHBOURS;

  /** The bytes the signature covers. */
  static byte[] signed(
      byte[] session,
      int round,
      String siteId,
      RoundParameters parameters,
      byte[] sharingKey,
      byte[] maskingKey,
      byte[] seedCommitment,
      byte[] keyCommitment,
      byte[] shareCommitments) {
    return Body.signed(
        "mnistfl-secagg-v3/advertisement",
        session,
        round,
        siteId,
        parameters.bytes(),
        sharingKey,
        maskingKey,
        seedCommitment,
        keyCommitment,
        shareCommitments);
  }

  byte[] signed(byte[] session, int round) {
    return signed(
        session,
        round,
        siteId,
        parameters,
        sharingKey,
        maskingKey,
        seedCommitment,
        keyCommitment,
        shareCommitments);
  }

  /** The digest of what the signature covers: this advertisement, in this round. */
  byte[] digest(byte[] session, int round) {
    return Crypto.sha256(signed(session, round));
  }

  /** How many neighbours the site committed shares for. */
  int neighbours() {
    return shareCommitments.length / PER_NEIGHBOUR;
  }

  /** The commitment to the share of {@code kind} dealt at {@code x}, if there is one. */
  Optional<byte[]> shareCommitment(int x, Secret kind) {
    if (x < 1 || x > neighbours()) {
      return Optional.empty();
    }
    int from = (x - 1) * PER_NEIGHBOUR + kind.ordinal() * 32;
    return Optional.of(Arrays.copyOfRange(shareCommitments, from, from + 32));
  }

  void write(Body.Writer w) {
    w.string(siteId);
    parameters.write(w);
    w.bytes(sharingKey)
        .bytes(maskingKey)
        .fixed(seedCommitment)
        .fixed(keyCommitment)
        .bytes(shareCommitments)
        .bytes(credential)
        .bytes(signature);
  }

  static Advertisement read(Body.Reader r) throws MessageFormatException {
    Advertisement ad =
        new Advertisement(
            r.string(),
            RoundParameters.read(r),
            r.bytes(64),
            r.bytes(64),
            r.fixed(32),
            r.fixed(32),
            r.bytes(MAX_NEIGHBOURS * PER_NEIGHBOUR),
            r.bytes(16 << 10),
            r.bytes(512));
    if (ad.shareCommitments.length % PER_NEIGHBOUR != 0) {
      throw new MessageFormatException(
          "advertisement of "
              + ad.siteId
              + ": share commitments of"
              + " "
              + ad.shareCommitments.length
              + " bytes");
    }
    return ad;
  }
}
