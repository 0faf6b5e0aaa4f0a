'use strict';
// The drawing page: a canvas to draw on, predictions while drawing, uploads, saving drawings.
(() => {
  const pad = document.getElementById('pad');
  const ctx = pad.getContext('2d');
  const verdict = document.getElementById('verdict');
  const reason = document.getElementById('reason');
  const top = document.getElementById('top');
  const input = document.getElementById('input');
  const preview = document.getElementById('preview');
  const previewBox = document.getElementById('preview-box');
  let drawing = false;
  let inked = false;
  let last = null;
  let inFlight = false;
  let again = false;
  let timer = null;

  function clear() {
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, pad.width, pad.height);
    inked = false;
    previewBox.hidden = true;
    show(null);
  }

  function point(event) {
    const box = pad.getBoundingClientRect();
    return {
      x: (event.clientX - box.left) * (pad.width / box.width),
      y: (event.clientY - box.top) * (pad.height / box.height),
    };
  }

  function stroke(from, to) {
    ctx.strokeStyle = '#111';
    ctx.lineWidth = 20;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    inked = true;
  }

  pad.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    drawing = true;
    last = point(event);
    stroke(last, last);
    previewBox.hidden = true;
    soon();
  });
  pad.addEventListener('pointermove', (event) => {
    if (!drawing) {
      return;
    }
    const p = point(event);
    stroke(last, p);
    last = p;
    soon();
  });
  const end = () => {
    if (drawing) {
      drawing = false;
      predictCanvas();
    }
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);

  // While drawing, at most one prediction every 150 ms, and always one after the last stroke.
  function soon() {
    if (!timer) {
      timer = setTimeout(() => {
        timer = null;
        predictCanvas();
      }, 150);
    }
  }

  function canvasPng() {
    return new Promise((resolve) => pad.toBlob(resolve, 'image/png'));
  }

  async function predictCanvas() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const blob = await canvasPng();
      await predict(blob);
    } finally {
      inFlight = false;
      if (again) {
        again = false;
        predictCanvas();
      }
    }
  }

  async function predict(body) {
    try {
      const answer = await Mnist.api('/api/predict', {method: 'POST', body, headers: {'Content-Type': body.type || 'application/octet-stream'}});
      show(answer);
      Mnist.status('answered in ' + answer.millis.toFixed(0) + ' ms');
    } catch (e) {
      show(null);
      reason.textContent = e.message;
      Mnist.status(e.message, true);
    }
  }

  function show(answer) {
    top.replaceChildren();
    const pixels = input.getContext('2d');
    pixels.fillStyle = '#000';
    pixels.fillRect(0, 0, 28, 28);
    if (!answer) {
      verdict.textContent = '–';
      verdict.dataset.verdict = 'none';
      delete verdict.dataset.digit;
      reason.textContent = 'Draw with the mouse or a finger; the answer follows as you draw.';
      return;
    }
    verdict.dataset.verdict = answer.verdict;
    if (answer.verdict === 'digit') {
      verdict.textContent = String(answer.digit);
      verdict.dataset.digit = String(answer.digit);
      reason.textContent = (answer.calibrated ? 'calibrated probability ' : 'probability ') + Mnist.pct(answer.probability, 1);
    } else {
      verdict.textContent = answer.verdict === 'blank' ? '–' : '?';
      delete verdict.dataset.digit;
      reason.textContent = answer.reason;
    }
    for (const guess of answer.top) {
      const bar = Mnist.el('span', {className: 'bar'});
      bar.style.width = Math.max(1, Math.round(100 * guess.probability)) + '%';
      top.append(Mnist.el('li', {'data-digit': String(guess.digit)},
          Mnist.el('b', {text: String(guess.digit)}),
          Mnist.el('span', {className: 'track'}, bar),
          Mnist.el('span', {className: 'p', text: Mnist.pct(guess.probability, 1)})));
    }
    const image = pixels.createImageData(28, 28);
    answer.input.forEach((v, i) => {
      image.data[4 * i] = v;
      image.data[4 * i + 1] = v;
      image.data[4 * i + 2] = v;
      image.data[4 * i + 3] = 255;
    });
    pixels.putImageData(image, 0, 0);
    input.dataset.ink = String(answer.input.filter((v) => v >= 128).length);
  }

  document.getElementById('clear').addEventListener('click', clear);

  document.getElementById('upload').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    if (!file) {
      return;
    }
    preview.src = URL.createObjectURL(file);
    previewBox.hidden = false;
    await predict(file);
    event.target.value = '';
  });

  document.getElementById('save').addEventListener('click', async () => {
    const saved = document.getElementById('saved');
    if (!inked) {
      saved.textContent = 'Draw something first.';
      return;
    }
    const label = document.getElementById('label').value;
    try {
      const result = await Mnist.api('/api/drawings?label=' + encodeURIComponent(label), {method: 'POST', body: await canvasPng(), headers: {'Content-Type': 'image/png'}});
      saved.textContent = 'Saved as ' + result.path + ' in ' + result.folder + ' (evaluate --images ' + result.folder + ').';
      saved.dataset.path = result.path;
    } catch (e) {
      saved.textContent = e.message;
    }
  });

  Mnist.api('/api/model').then((model) => {
    const c = model.calibration;
    document.getElementById('calibration').textContent = 'Model ' + model.name + '. '
        + (c ? 'Probabilities calibrated by temperature scaling (T = ' + c.temperature.toFixed(2) + '); '
             : 'Probabilities not calibrated (run calibrate --model DIR); ')
        + '"unsure" below ' + Mnist.pct(model.rule.minProbability, 0) + '.';
  }).catch((e) => {
    document.getElementById('calibration').textContent = e.message;
    Mnist.status(e.message, true);
  });

  clear();
})();
