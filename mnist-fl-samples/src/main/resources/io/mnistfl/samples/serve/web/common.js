'use strict';
// Shared by every page: the API client (with the write token, when the server asks for one),
// element building, number formats and the navigation bar.
const Mnist = (() => {
  const TOKEN = 'mnistfl-token';
  const fromAddress = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromAddress) {
    sessionStorage.setItem(TOKEN, fromAddress);
    history.replaceState(null, '', location.pathname + location.search);
  }

  async function api(path, options = {}) {
    const headers = Object.assign({}, options.headers || {});
    const token = sessionStorage.getItem(TOKEN);
    if (token) {
      headers['X-Mnistfl-Token'] = token;
    }
    const response = await fetch(path, Object.assign({}, options, {headers}));
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch (e) {
      body = {error: text || response.statusText};
    }
    if (!response.ok) {
      const error = new Error(body.error || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === 'text') {
        node.textContent = value;
      } else if (name === 'className') {
        node.className = value;
      } else {
        node.setAttribute(name, value);
      }
    }
    for (const child of children) {
      node.append(child);
    }
    return node;
  }

  const pct = (x, digits = 2) => (x === undefined || x === null ? '–' : (100 * x).toFixed(digits) + ' %');

  function bytes(n) {
    if (n === undefined || n === null) {
      return '–';
    }
    if (n >= 1e6) {
      return (n / 1e6).toFixed(2) + ' MB';
    }
    if (n >= 1e3) {
      return (n / 1e3).toFixed(1) + ' kB';
    }
    return n + ' B';
  }

  function ago(millis) {
    if (!millis) {
      return '–';
    }
    const s = Math.max(0, Math.round((Date.now() - millis) / 1000));
    if (s < 60) {
      return s + ' s ago';
    }
    if (s < 3600) {
      return Math.round(s / 60) + ' min ago';
    }
    return new Date(millis).toLocaleString();
  }

  function status(message, isError = false) {
    const footer = document.getElementById('status');
    if (footer) {
      footer.textContent = message;
      footer.classList.toggle('error', isError);
    }
  }

  // A link to the followed run, when serve --follow names one.
  async function nav() {
    try {
      const info = await api('/api/info');
      if (info.followed) {
        const href = '/runs/' + encodeURIComponent(info.followed);
        const link = el('a', {href, text: 'Live: ' + info.followed, id: 'nav-live'});
        if (location.pathname === href) {
          link.className = 'here';
        }
        document.getElementById('nav').append(link);
      }
      return info;
    } catch (e) {
      status(e.message, true);
      return {};
    }
  }

  const info = nav();
  return {api, el, pct, bytes, ago, status, info};
})();
