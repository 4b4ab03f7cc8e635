/* Zhixing Academy support widget: one <script src="/widget.js"></script> adds a chat button and panel.
 * Optional attributes on the script tag:
 *   data-user-token  a user JWT minted by the platform's backend (tier, name); anonymous when absent
 *   data-lang        "zh" or "en" (default: the browser's language)
 *   data-title       panel title
 * All user and agent text is rendered with textContent: HTML in messages stays inert.
 */
(function () {
  "use strict";
  if (window.__zxWidgetLoaded) return;
  window.__zxWidgetLoaded = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var base = new URL(script ? script.src : "/widget.js", location.href);
  var origin = base.origin;
  var attr = function (n) { return script ? script.getAttribute(n) : null; };
  var lang = (attr("data-lang") || navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  var T = {
    zh: { title: "知行学堂 · 智能客服", placeholder: "输入您的问题…", send: "发送", human: "转人工",
          hello: "您好！我是知行学堂的智能助手，课程、会员、退款、发票等问题都可以问我。",
          typing: "正在输入…", joined: "顾问已加入对话", queue: "您前面还有 {n} 位，预计等待约 {m} 分钟",
          queued: "正在为您转接学习顾问…", resolved: "顾问已结束本次服务，之后由智能助手继续为您服务。",
          rate: "请为本次服务打分：", thanks: "感谢您的评价！", offline: "连接中断，正在重连…",
          useful: "有帮助", useless: "没帮助", error: "发送失败，请重试", advisor: "顾问", bot: "智能助手",
          open: "在线客服", close: "关闭" },
    en: { title: "Zhixing Academy Support", placeholder: "Type your question…", send: "Send", human: "Talk to a person",
          hello: "Hi! I'm the Zhixing Academy assistant. Ask me about courses, membership, refunds, invoices…",
          typing: "typing…", joined: "An advisor has joined", queue: "{n} ahead of you, about {m} min wait",
          queued: "Connecting you to a success advisor…", resolved: "The advisor has closed this chat; the assistant is back.",
          rate: "How was the help?", thanks: "Thanks for your rating!", offline: "Connection lost, reconnecting…",
          useful: "Helpful", useless: "Not helpful", error: "Could not send, please retry", advisor: "Advisor", bot: "Assistant",
          open: "Support", close: "Close" }
  }[lang];

  var css = [
    ".zx-btn{position:fixed;right:24px;bottom:24px;z-index:2147483000;border:0;border-radius:28px;padding:14px 20px;",
    "background:#1f6feb;color:#fff;font:600 15px/1 system-ui,sans-serif;box-shadow:0 4px 16px rgba(0,0,0,.2);cursor:pointer}",
    ".zx-panel{position:fixed;right:24px;bottom:84px;z-index:2147483000;width:360px;max-width:calc(100vw - 32px);height:540px;",
    "max-height:calc(100vh - 120px);display:none;flex-direction:column;background:#fff;border-radius:12px;overflow:hidden;",
    "box-shadow:0 8px 32px rgba(0,0,0,.25);font:14px/1.5 system-ui,'Noto Sans CJK SC',sans-serif;color:#1c1c1c}",
    ".zx-panel.zx-open{display:flex}",
    ".zx-head{background:#1f6feb;color:#fff;padding:12px 14px;display:flex;align-items:center;gap:8px}",
    ".zx-head b{flex:1}.zx-head button{background:rgba(255,255,255,.18);color:#fff;border:0;border-radius:14px;padding:4px 10px;cursor:pointer}",
    ".zx-status{font-size:12px;padding:4px 12px;background:#fff8e1;color:#7a5b00;display:none}",
    ".zx-log{flex:1;overflow-y:auto;padding:12px;background:#f6f8fa}",
    ".zx-msg{margin:6px 0;display:flex;flex-direction:column}.zx-msg .zx-b{max-width:85%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;word-break:break-word}",
    ".zx-user{align-items:flex-end}.zx-user .zx-b{background:#1f6feb;color:#fff}",
    ".zx-bot .zx-b{background:#fff;border:1px solid #e1e4e8}.zx-agent .zx-b{background:#e6ffed;border:1px solid #a6e9b5}",
    ".zx-system{align-items:center}.zx-system .zx-b{background:transparent;color:#57606a;font-size:12px;text-align:center}",
    ".zx-who{font-size:11px;color:#57606a;margin:0 4px 2px}",
    ".zx-qr{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}.zx-qr button{border:1px solid #1f6feb;color:#1f6feb;background:#fff;border-radius:14px;padding:4px 10px;cursor:pointer;font-size:13px}",
    ".zx-fb{font-size:12px;margin-top:2px}.zx-fb button{border:0;background:none;color:#57606a;cursor:pointer;padding:0 6px}",
    ".zx-typing{font-size:12px;color:#57606a;padding:0 14px 6px;min-height:18px;background:#f6f8fa}",
    ".zx-form{display:flex;border-top:1px solid #e1e4e8}.zx-form input{flex:1;border:0;padding:12px;font-size:14px;outline:none}",
    ".zx-form button{border:0;background:#1f6feb;color:#fff;padding:0 16px;cursor:pointer}",
    ".zx-stars button{font-size:20px;border:0;background:none;cursor:pointer;color:#d4a72c}"
  ].join("");

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  var style = el("style"); style.textContent = css; document.head.appendChild(style);
  var btn = el("button", "zx-btn", T.open); btn.type = "button"; btn.setAttribute("data-testid", "zx-open");
  var panel = el("div", "zx-panel"); panel.setAttribute("role", "dialog"); panel.setAttribute("aria-label", T.title);
  var head = el("div", "zx-head"); head.appendChild(el("b", null, attr("data-title") || T.title));
  var humanBtn = el("button", null, T.human); humanBtn.type = "button"; humanBtn.setAttribute("data-testid", "zx-human");
  var closeBtn = el("button", null, "×"); closeBtn.type = "button"; closeBtn.setAttribute("aria-label", T.close);
  head.appendChild(humanBtn); head.appendChild(closeBtn);
  var status = el("div", "zx-status"); status.setAttribute("data-testid", "zx-status");
  var log = el("div", "zx-log"); log.setAttribute("data-testid", "zx-log"); log.setAttribute("aria-live", "polite");
  var typing = el("div", "zx-typing"); typing.setAttribute("data-testid", "zx-typing");
  var form = el("form", "zx-form");
  var input = el("input"); input.placeholder = T.placeholder; input.maxLength = 2000; input.setAttribute("data-testid", "zx-input");
  var send = el("button", null, T.send); send.type = "submit";
  form.appendChild(input); form.appendChild(send);
  [head, status, log, typing, form].forEach(function (n) { panel.appendChild(n); });
  document.body.appendChild(btn); document.body.appendChild(panel);

  var storeKey = "zx-conv:" + origin + ":" + (attr("data-user-token") ? attr("data-user-token").slice(-16) : "anon");
  var conv = null;          // {conversation_id, token}
  var lastSeq = 0;          // highest transcript seq rendered: resume point after a reconnect
  var seen = {};            // message ids already rendered
  var ws = null, wsRetry = 0, starting = null;

  function setStatus(text) { status.textContent = text || ""; status.style.display = text ? "block" : "none"; }

  function headers() {
    var h = { "Content-Type": "application/json" };
    if (conv) h["Authorization"] = "Bearer " + conv.token;
    return h;
  }

  function startConversation() {
    if (conv) return Promise.resolve(conv);
    if (starting) return starting;
    try { conv = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { conv = null; }
    if (conv) { connect(); loadHistory(); return Promise.resolve(conv); }
    var h = { "Content-Type": "application/json" };
    if (attr("data-user-token")) h["Authorization"] = "Bearer " + attr("data-user-token");
    starting = fetch(origin + "/v1/conversations", { method: "POST", headers: h, body: JSON.stringify({ channel: "web", locale: lang }) })
      .then(function (r) { if (!r.ok) throw new Error("start " + r.status); return r.json(); })
      .then(function (data) {
        conv = data; starting = null;
        try { localStorage.setItem(storeKey, JSON.stringify(conv)); } catch (e) { /* private mode */ }
        connect();
        return conv;
      });
    return starting;
  }

  function loadHistory() {
    fetch(origin + "/v1/conversations/" + conv.conversation_id + "/messages", { headers: headers() })
      .then(function (r) {
        if (r.status === 401 || r.status === 403 || r.status === 404) { forget(); return null; }
        return r.json();
      })
      .then(function (data) { if (data) data.messages.forEach(render); });
  }

  function forget() {
    try { localStorage.removeItem(storeKey); } catch (e) { /* ignore */ }
    conv = null; if (ws) { ws.onclose = null; ws.close(); ws = null; }
  }

  function connect() {
    if (!conv) return;
    var url = origin.replace(/^http/, "ws") + "/v1/conversations/" + conv.conversation_id + "/ws?token=" +
      encodeURIComponent(conv.token) + "&after_seq=" + lastSeq;
    ws = new WebSocket(url);
    ws.onopen = function () { wsRetry = 0; if (status.textContent === T.offline) setStatus(""); };
    ws.onmessage = function (ev) {
      var e; try { e = JSON.parse(ev.data); } catch (x) { return; }
      onEvent(e);
    };
    ws.onclose = function (ev) {
      ws = null;
      if (ev.code === 4401 || ev.code === 4403 || ev.code === 4404) { forget(); return; }
      setStatus(T.offline);
      var delay = Math.min(10000, 500 * Math.pow(2, wsRetry++));
      setTimeout(connect, delay);
    };
  }

  function onEvent(e) {
    if (e.type === "message") { render(e.message); typing.textContent = ""; }
    else if (e.type === "typing") { typing.textContent = e.active === false ? "" : (e.role === "agent" ? T.advisor : T.bot) + " " + T.typing; }
    else if (e.type === "queue") {
      setStatus(T.queue.replace("{n}", e.position > 0 ? e.position - 1 : 0).replace("{m}", Math.max(1, Math.round((e.eta_seconds || 60) / 60))));
    }
  }

  function who(role) { return role === "agent" ? T.advisor : role === "bot" ? T.bot : ""; }

  function render(m) {
    if (!m || seen[m.message_id]) return;
    seen[m.message_id] = true;
    if (m.seq > lastSeq) lastSeq = m.seq;
    var row = el("div", "zx-msg zx-" + (m.role || "system"));
    row.setAttribute("data-role", m.role); row.setAttribute("data-action", m.action || "");
    var label = m.role === "agent" && m.agent_name ? T.advisor + " · " + m.agent_name : who(m.role);
    if (label) row.appendChild(el("div", "zx-who", label));
    row.appendChild(el("div", "zx-b", m.text));
    if (m.role === "system" && m.event) applySystemEvent(m);
    if (m.role === "bot" && m.action === "answer") row.appendChild(feedback(m));
    log.appendChild(row);
    if (m.quick_replies && m.quick_replies.length && m.role !== "user") {
      var qr = el("div", "zx-qr"); qr.setAttribute("data-testid", "zx-quick-replies");
      m.quick_replies.forEach(function (q) {
        var b = el("button", null, q.title); b.type = "button";
        b.onclick = function () { qr.remove(); post({ quick_reply: q.payload }, q.title); };
        qr.appendChild(b);
      });
      log.appendChild(qr);
    }
    if (m.role === "system" && m.event === "handoff.resolved") log.appendChild(stars());
    log.scrollTop = log.scrollHeight;
  }

  function applySystemEvent(m) {
    if (m.event === "handoff.created") setStatus(T.queued);
    if (m.event === "handoff.claimed") setStatus(T.joined);
    if (m.event === "handoff.resolved") setStatus("");
  }

  function feedback(m) {
    var box = el("div", "zx-fb");
    [["up", "👍 " + T.useful], ["down", "👎 " + T.useless]].forEach(function (p) {
      var b = el("button", null, p[1]); b.type = "button";
      b.onclick = function () {
        fetch(origin + "/v1/conversations/" + conv.conversation_id + "/feedback", { method: "POST", headers: headers(),
          body: JSON.stringify({ message_id: m.message_id, rating: p[0] }) });
        box.textContent = T.thanks;
      };
      box.appendChild(b);
    });
    return box;
  }

  function stars() {
    var box = el("div", "zx-stars"); box.setAttribute("data-testid", "zx-csat");
    box.appendChild(el("span", "zx-who", T.rate));
    [1, 2, 3, 4, 5].forEach(function (n) {
      var b = el("button", null, "★"); b.type = "button"; b.title = String(n);
      b.onclick = function () {
        fetch(origin + "/v1/conversations/" + conv.conversation_id + "/csat", { method: "POST", headers: headers(), body: JSON.stringify({ score: n }) });
        box.textContent = T.thanks;
      };
      box.appendChild(b);
    });
    return box;
  }

  function post(body, echo) {
    return startConversation().then(function () {
      typing.textContent = T.bot + " " + T.typing;
      return fetch(origin + "/v1/conversations/" + conv.conversation_id + "/messages", { method: "POST", headers: headers(), body: JSON.stringify(body) });
    }).then(function (r) {
      return r.json().then(function (data) {
        typing.textContent = "";
        if (!r.ok) { setStatus((data.error && data.error.message) || T.error); return; }
        // The user's message and the reply also arrive over the WebSocket; `seen` prevents duplicates.
        if (data.user_message) render(data.user_message);
        if (data.bot_message) render(data.bot_message);
      });
    }).catch(function () { typing.textContent = ""; setStatus(T.error); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    post({ text: text });
  });
  humanBtn.onclick = function () { post({ quick_reply: "handoff" }); };
  closeBtn.onclick = function () { panel.classList.remove("zx-open"); };
  btn.onclick = function () {
    var open = panel.classList.toggle("zx-open");
    if (open) {
      if (!log.childNodes.length) log.appendChild(el("div", "zx-msg zx-bot", null)).appendChild(el("div", "zx-b", T.hello));
      startConversation(); input.focus();
    }
  };
  window.ZhixingWidget = { open: function () { if (!panel.classList.contains("zx-open")) btn.click(); }, lang: lang };
})();
