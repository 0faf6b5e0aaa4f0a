'use strict';
// One run: a federation's rounds (followed live by server-sent events while it runs) or a central
// training's epochs; the paper's curves, one line per round, and a --listen server's sites.
(() => {
  const id = decodeURIComponent(location.pathname.split('/')[2] || '');
  const api = '/api/runs/' + encodeURIComponent(id);
  document.title = 'mnist-fl · ' + id;
  document.getElementById('title').textContent = id;
  const charts = document.getElementById('charts');
  const table = document.getElementById('rounds');
  const num = (digits) => (v) => Number(v).toFixed(digits);
  const percent = (v) => (100 * v).toFixed(v > 0.999 || v < 0.001 ? 2 : 1) + '%';

  function series(rows, key, name, cls) {
    return {name, cls, points: rows.filter((r) => typeof r[key] === 'number').map((r) => [r.round ?? r.epoch, r[key]])};
  }

  function head(...names) {
    table.tHead.replaceChildren(Mnist.el('tr', {}, ...names.map((n) => Mnist.el('th', {text: n}))));
  }

  function renderRounds(run) {
    const rows = run.rounds;
    const last = rows[rows.length - 1];
    const parts = [
      run.state === 'running' ? 'running' : run.state,
      rows.length + (run.planned ? ' of ' + run.planned : '') + ' rounds',
    ];
    if (run.mode) {
      parts.push(run.mode === 'listen' ? 'sites dial in (--listen)' : 'simulated sites');
    }
    if (last && last.accuracy !== undefined) {
      parts.push('test accuracy ' + Mnist.pct(last.accuracy));
    }
    if (last && last.epsilon !== undefined) {
      parts.push('DP ε so far ' + last.epsilon.toFixed(3));
    }
    parts.push('updated ' + Mnist.ago(run.updatedMillis));
    const summary = document.getElementById('summary');
    summary.textContent = parts.join(' · ');
    summary.dataset.state = run.state;
    summary.dataset.rounds = String(rows.length);

    charts.replaceChildren(
        Charts.line([series(rows, 'accuracy', 'test', 'test'), series(rows, 'federatedAccuracy', 'sites\' own data', 'fed')].filter((s) => s.points.length),
            {title: 'Test accuracy per round', id: 'chart-accuracy', xLabel: 'round', format: percent, unit: 'percent'}),
        Charts.line([series(rows, 'loss', 'test loss', 'test')], {title: 'Test loss per round', id: 'chart-loss', xLabel: 'round', format: num(4), unit: 'number'}),
        Charts.line([series(rows, 'precision', 'macro precision', 'test')], {title: 'Test precision (macro) per round', id: 'chart-precision', xLabel: 'round', format: percent, unit: 'percent'}),
        Charts.line([series(rows, 'recall', 'macro recall', 'test')], {title: 'Test recall (macro) per round', id: 'chart-recall', xLabel: 'round', format: percent, unit: 'percent'}),
        Charts.line([series(rows, 'f1', 'macro F1', 'test')], {title: 'Test F1 (macro) per round', id: 'chart-f1', xLabel: 'round', format: percent, unit: 'percent'}));

    head('round', 'sampled', 'answered', 'failed', 'time', 'to sites', 'from sites', 'DP ε', 'accuracy', 'loss');
    table.tBodies[0].replaceChildren(...rows.map((r) => {
      const failed = Mnist.el('td', {className: 'failed'});
      if (r.failed.length === 0 && !r.abandoned) {
        failed.textContent = '0';
      } else {
        failed.append(String(r.failed.length));
        const reasons = Mnist.el('ul');
        for (const f of r.failed) {
          reasons.append(Mnist.el('li', {text: f.siteId + ': ' + f.reason}));
        }
        if (r.abandoned) {
          reasons.append(Mnist.el('li', {text: 'abandoned: ' + r.abandoned}));
        }
        failed.append(reasons);
      }
      return Mnist.el('tr', {'data-round': String(r.round)},
          Mnist.el('td', {text: String(r.round)}),
          Mnist.el('td', {text: String(r.sampled)}),
          Mnist.el('td', {text: String(r.answered)}),
          failed,
          Mnist.el('td', {text: r.seconds.toFixed(1) + ' s'}),
          Mnist.el('td', {text: Mnist.bytes(r.bytesToSites)}),
          Mnist.el('td', {text: Mnist.bytes(r.bytesFromSites)}),
          Mnist.el('td', {text: r.epsilon === undefined ? '–' : r.epsilon.toFixed(3)}),
          Mnist.el('td', {text: Mnist.pct(r.accuracy)}),
          Mnist.el('td', {text: r.loss === undefined ? '–' : r.loss.toFixed(4)}));
    }));

    const sites = run.sites || [];
    document.getElementById('sites-card').hidden = sites.length === 0 && run.mode !== 'listen';
    document.querySelector('#sites tbody').replaceChildren(...sites.map((s) => Mnist.el('tr', {'data-site': s.id},
        Mnist.el('td', {text: s.id}),
        Mnist.el('td', {text: Mnist.ago(s.lastHeardMillis)}),
        Mnist.el('td', {text: s.onTime ? 'on time' : 'missed 3 heartbeats', className: s.onTime ? 'ok' : 'late'}))));
  }

  function renderEpochs(run) {
    const rows = run.epochs;
    document.getElementById('table-title').textContent = 'Epochs';
    document.getElementById('summary').textContent = ['central training of ' + run.model, rows.length + ' epochs',
      'test accuracy ' + Mnist.pct(run.testAccuracy)].join(' · ');
    charts.replaceChildren(
        Charts.line([series(rows, 'accuracy', 'training', 'train'), series(rows, 'validationAccuracy', 'validation', 'test')],
            {title: 'Accuracy per epoch', id: 'chart-accuracy', xLabel: 'epoch', format: percent, unit: 'percent'}),
        Charts.line([series(rows, 'loss', 'training', 'train'), series(rows, 'validationLoss', 'validation', 'test')],
            {title: 'Loss per epoch', id: 'chart-loss', xLabel: 'epoch', format: num(4), unit: 'number'}));
    head('epoch', 'time', 'loss', 'accuracy', 'validation loss', 'validation accuracy', 'learning rate');
    table.tBodies[0].replaceChildren(...rows.map((e) => Mnist.el('tr', {'data-epoch': String(e.epoch)},
        Mnist.el('td', {text: String(e.epoch)}),
        Mnist.el('td', {text: e.seconds.toFixed(1) + ' s'}),
        Mnist.el('td', {text: e.loss.toFixed(4)}),
        Mnist.el('td', {text: Mnist.pct(e.accuracy)}),
        Mnist.el('td', {text: e.validationLoss.toFixed(4)}),
        Mnist.el('td', {text: Mnist.pct(e.validationAccuracy)}),
        Mnist.el('td', {text: e.learningRate.toPrecision(3)}))));
  }

  // Live: the server sends the rounds whenever the run's files change; polling if that fails.
  function follow() {
    const source = new EventSource(api + '/events');
    source.addEventListener('rounds', (event) => {
      const run = JSON.parse(event.data);
      if (run.error) {
        Mnist.status(run.error, true);
        return;
      }
      renderRounds(run);
      Mnist.status(run.state === 'running' || run.state === 'not started'
        ? 'following live' : 'run ' + run.state);
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        Mnist.status('live updates stopped; polling every 2 s');
        setInterval(async () => renderRounds(await Mnist.api(api + '/rounds')), 2000);
      }
    };
  }

  (async () => {
    try {
      const summary = await Mnist.api(api);
      if (summary.kind === 'training') {
        renderEpochs(await Mnist.api(api + '/epochs'));
      } else {
        renderRounds(await Mnist.api(api + '/rounds'));
        follow();
      }
    } catch (e) {
      document.getElementById('summary').textContent = e.message;
      Mnist.status(e.message, true);
    }
  })();
})();
