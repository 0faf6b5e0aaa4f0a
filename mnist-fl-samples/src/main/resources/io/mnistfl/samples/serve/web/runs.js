'use strict';
// The runs list, refreshed every five seconds.
(() => {
  const body = document.querySelector('#runs tbody');

  async function load() {
    try {
      const runs = await Mnist.api('/api/runs');
      body.replaceChildren(...runs.map((run) => {
        const link = Mnist.el('a', {href: '/runs/' + encodeURIComponent(run.id), text: run.id});
        const steps = run.steps + (run.planned ? ' / ' + run.planned : '');
        return Mnist.el('tr', {'data-run': run.id},
            Mnist.el('td', {}, link),
            Mnist.el('td', {text: run.kind}),
            Mnist.el('td', {text: run.state, className: 'state ' + run.state.replace(' ', '-')}),
            Mnist.el('td', {text: steps}),
            Mnist.el('td', {text: Mnist.pct(run.accuracy)}),
            Mnist.el('td', {text: Mnist.ago(run.updatedMillis)}));
      }));
      document.getElementById('empty').hidden = runs.length > 0;
      Mnist.status('');
    } catch (e) {
      Mnist.status(e.message, true);
    }
  }

  load();
  setInterval(load, 5000);
})();
