package io.mnistfl.fl.server;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.wire.Messages;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The one-stage protocol: send each instruction, decode and check each update. */
final class PlainFit implements FitProtocol {

  @Override
  public FitResults run(
      RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange) {
    Map<String, byte[]> requests =
        SiteInstruction.encodeEach(instructions, c -> Messages.encodeFit(c, round.global()));
    SiteExchange.Replies replies = exchange.send("fit", requests);
    List<SiteFailure> failures = new ArrayList<>(replies.failures());
    List<ClientUpdate> updates = new ArrayList<>();
    for (Map.Entry<String, byte[]> answer : replies.answers().entrySet()) {
      try {
        ClientUpdate u = Messages.decodeUpdate(answer.getValue(), round.global());
        Checks.update(round, answer.getKey(), u);
        updates.add(u);
      } catch (Exception e) {
        failures.add(new SiteFailure(answer.getKey(), Checks.describe(e)));
      }
    }
    return new FitResults.Updates(updates, failures);
  }

  @Override
  public String toString() {
    return "plain";
  }
}
