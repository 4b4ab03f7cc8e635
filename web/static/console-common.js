/* Shared by the advisors' console and the analytics page: DOM helpers, the toast, the login form and the agent's
   session (one token in sessionStorage: logging in on one page logs in on the other) with authenticated JSON
   calls. Text is only ever set with textContent, never as HTML. Exposes `window.ZxConsole`. */
(function () {
  "use strict";

  var TOKEN_KEY = "zx-agent-token";
  var LOGIN_PATH = "/v1/agents/login";
  var EXPIRED = "登录已失效，请重新登录 · Session expired";
  var WRONG_PASSWORD = "用户名或密码错误 · Wrong username or password";
  var toastTimer = null;

  function $(id) { return document.getElementById(id); }

  // el(tag, {cls, text, title, testid, data, on, attrs}, ...children): children are nodes or plain text.
  function el(tag, props) {
    var node = document.createElement(tag);
    var p = props || {};
    if (p.cls) node.className = p.cls;
    if (p.text !== undefined && p.text !== null) node.textContent = String(p.text);
    if (p.title) node.title = p.title;
    if (p.testid) node.setAttribute("data-testid", p.testid);
    if (p.data) Object.keys(p.data).forEach(function (k) { node.dataset[k] = p.data[k]; });
    if (p.attrs) Object.keys(p.attrs).forEach(function (k) { node.setAttribute(k, p.attrs[k]); });
    if (p.on) Object.keys(p.on).forEach(function (k) { node.addEventListener(k, p.on[k]); });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function show(node, visible) { node.hidden = !visible; }

  function toast(message, kind) {
    var box = $("toast");
    box.textContent = message;
    box.dataset.kind = kind || "info";
    show(box, true);
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { show(box, false); }, 4000);
  }

  // "中文 <small>English</small>", the way every label of both pages reads.
  function bilingual(pair, cls) {
    return el("span", { cls: cls }, pair[0] + " ", el("small", { text: pair[1] }));
  }

  // The sign-in card, built into `#login-view` (the same on both pages).
  function renderLoginForm(container) {
    var username = el("input", { testid: "login-username",
      attrs: { id: "login-username", name: "username", autocomplete: "username", required: "" } });
    var password = el("input", { testid: "login-password",
      attrs: { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: "" } });
    var form = el("form", { cls: "card login-card", attrs: { id: "login-form", autocomplete: "on" } },
      el("h1", null, bilingual(["登录", "Sign in"])),
      el("label", null, bilingual(["用户名", "Username"]), username),
      el("label", null, bilingual(["密码", "Password"]), password),
      el("p", { cls: "error", testid: "login-error", attrs: { id: "login-error", role: "alert" } }),
      el("button", { cls: "primary", testid: "login-submit", attrs: { type: "submit" } }, bilingual(["登录", "Sign in"])));
    clear(container);
    container.appendChild(form);
    return form;
  }

  // The agent's session. `onStart()` runs when there is a token (at load, after a login); `onEnd()` when it is
  // gone (logout, or a 401 from any call). Both pages show `#login-view` and hide their own content in `onEnd`.
  function session(options) {
    var self = { token: sessionStorage.getItem(TOKEN_KEY) || "" };

    self.api = function (method, path, body) {
      var headers = { Accept: "application/json" };
      if (self.token) headers.Authorization = "Bearer " + self.token;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      var init = { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) };
      return fetch(path, init).then(function (response) {
        if (response.status === 204) return null;
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.status === 401 && path !== LOGIN_PATH && self.token) self.expire();
          if (!response.ok) {
            var err = new Error((data && data.error && data.error.message) || "HTTP " + response.status);
            err.status = response.status;
            throw err;
          }
          return data;
        });
      });
    };

    // A failed call's message as a toast; a 401 has already ended the session and said so.
    self.fail = function (err) { if (err.status !== 401) toast(err.message, "error"); };

    self.logout = function (message) {
      self.token = "";
      sessionStorage.removeItem(TOKEN_KEY);
      show($("session"), false);
      show($("login-view"), true);
      if (message) $("login-error").textContent = message;
      options.onEnd();
    };

    // The server no longer accepts the token (expired, or the account was disabled).
    self.expire = function () { self.logout(EXPIRED); };

    function login(event) {
      event.preventDefault();
      $("login-error").textContent = "";
      var body = { username: $("login-username").value.trim(), password: $("login-password").value };
      self.api("POST", LOGIN_PATH, body).then(function (data) {
        self.token = data.token;
        sessionStorage.setItem(TOKEN_KEY, data.token);
        $("login-password").value = "";
        options.onStart();
      }).catch(function (err) {
        $("login-error").textContent = err.status === 401 ? WRONG_PASSWORD : err.message;
      });
    }

    // Wire the login form and the logout button, then start (or ask to sign in).
    self.begin = function () {
      renderLoginForm($("login-view")).addEventListener("submit", login);
      $("logout").addEventListener("click", function () { self.logout(); });
      if (self.token) options.onStart(); else self.logout();
    };

    // The page's content replaces the sign-in card.
    self.signedIn = function () {
      show($("login-view"), false);
      show($("session"), true);
    };

    return self;
  }

  window.ZxConsole = { $: $, el: el, clear: clear, show: show, toast: toast, bilingual: bilingual, session: session };
})();
