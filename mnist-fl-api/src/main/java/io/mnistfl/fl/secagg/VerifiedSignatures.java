package io.mnistfl.fl.secagg;

import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Signatures already verified, shared by the sites of one JVM: a simulation or a simulation host
 * checks each advertisement once rather than once per neighbour. An entry is the SHA-256 of the
 * signer, its credential, the message and the signature, so only the very same signature hits.
 */
final class VerifiedSignatures {
  private static final int MAX_ENTRIES = 1 << 20;
  private final Map<String, Boolean> seen = new ConcurrentHashMap<>();

  /** A check of one signature; true when it holds. */
  interface Check {
    boolean verify() throws GeneralSecurityException;
  }

  /** Runs {@code check} unless the same signature passed before; fails when it does not hold. */
  void check(String siteId, byte[] credential, byte[] message, byte[] signature, Check check)
      throws GeneralSecurityException {
    String key =
        HexFormat.of()
            .formatHex(Crypto.sha256(Body.signed(siteId, credential, message, signature)));
    if (seen.containsKey(key)) {
      return;
    }
    if (!check.verify()) {
      throw new GeneralSecurityException("a signature that is not site " + siteId + "'s");
    }
    if (seen.size() >= MAX_ENTRIES) {
      seen.clear();
    }
    seen.put(key, Boolean.TRUE);
  }
}
