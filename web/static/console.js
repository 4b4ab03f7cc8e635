/* Agents' console: queue with SLA countdowns, the conversation with its handoff packet, live over a WebSocket.
   Every piece of user-supplied text is rendered with textContent, never as HTML. */
(function () {
  "use strict";

  var Zx = window.ZxConsole;
  var $ = Zx.$, el = Zx.el, clear = Zx.clear, show = Zx.show, toast = Zx.toast, bilingual = Zx.bilingual;
  var TIERS = { vip: ["VIP", "VIP"], member: ["会员", "Member"], free: ["免费", "Free"] };
  var CHANNELS = { web: "web", wechat: "wechat", webhook: "webhook", app: "app" };
  var STATUS = { waiting: ["排队中", "Waiting"], assigned: ["处理中", "Assigned"], resolved: ["已解决", "Resolved"] };
  var ROLES = { user: ["用户", "User"], bot: ["机器人", "Bot"], agent: ["顾问", "Advisor"], system: ["系统", "System"] };
  var REASONS = {
    user_request: ["用户要求人工", "User asked for a person"],
    low_confidence: ["机器人把握不足", "Low confidence"],
    repeated_failure: ["多次未能解决", "Repeated failures"],
    complaint: ["投诉", "Complaint"],
    negative_sentiment: ["用户情绪负面", "Negative sentiment"],
    policy: ["政策要求人工", "Policy requires a person"],
  };

  var session = Zx.session({ onStart: start, onEnd: signedOut });
  var api = session.api, fail = session.fail;
  var state = {
    me: null,
    agents: [],
    tab: "waiting",
    lists: { waiting: [], assigned: [], resolved: [] },
    selected: null,
    detail: null,
    seen: new Set(),
    ws: null,
    retry: 0,
    lastTyping: 0,
    timers: {},
  };

  // -- helpers --------------------------------------------------------------------------------------------

  function debounce(name, fn, ms) {
    clearTimeout(state.timers[name]);
    state.timers[name] = setTimeout(fn, ms);
  }

  function clock(seconds) {
    var s = Math.abs(Math.round(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    return (seconds < 0 ? "-" : "") + (h ? h + ":" : "") + mm;
  }

  function timeOf(ts) {
    if (!ts) return "";
    var d = new Date(ts * 1000);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  // -- session --------------------------------------------------------------------------------------------

  function signedOut() {
    if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
    show($("desk"), false);
  }

  function start() {
    api("GET", "/v1/agents/me").then(function (me) {
      state.me = me;
      $("me").textContent = me.display_name + " (" + me.username + (me.role === "admin" ? " · 管理员 admin" : "") + ")";
      show($("tab-candidates"), me.role === "admin");
      show($("analytics-link"), me.role === "admin");
      session.signedIn();
      show($("desk"), true);
      loadAgents();
      refreshLists();
      connect();
    }).catch(function () { session.logout(); });
  }

  function loadAgents() {
    api("GET", "/v1/agents").then(function (data) { state.agents = data.agents; renderTransferOptions(); }).catch(fail);
  }

  // -- live updates ---------------------------------------------------------------------------------------

  function setConn(live) {
    var conn = $("conn");
    conn.dataset.state = live ? "live" : "offline";
    clear(conn);
    conn.appendChild(bilingual(live ? ["实时", "Live"] : ["重连中", "Reconnecting"]));
  }

  function connect() {
    if (!session.token) return;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/v1/agents/ws?token=" + encodeURIComponent(session.token));
    state.ws = ws;
    ws.onopen = function () { state.retry = 0; setConn(true); };
    ws.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      onEvent(data);
    };
    ws.onclose = function (event) {
      setConn(false);
      if (state.ws !== ws) return;
      state.ws = null;
      if (event.code === 4401) { session.expire(); return; }
      var delay = Math.min(15000, 1000 * Math.pow(2, state.retry++));
      setTimeout(function () { if (session.token && !state.ws) connect(); }, delay);
    };
  }

  function onEvent(data) {
    if (data.type === "hello") {
      state.lists.waiting = data.queue;
      renderCounts();
      if (state.tab === "waiting") renderList();
      debounce("lists", refreshLists, 50);  // events missed while disconnected
      if (state.selected) debounce("detail", reloadDetail, 50);
    } else if (data.type === "message") {
      onMessage(data);
    } else if (data.type && data.type.indexOf("ticket.") === 0) {
      debounce("lists", refreshLists, 250);
      if (data.ticket && data.ticket.id === state.selected) debounce("detail", reloadDetail, 150);
    }
  }

  function onMessage(data) {
    var message = data.message || {};
    if (message.role === "user") {
      ["waiting", "assigned"].forEach(function (tab) {
        state.lists[tab].forEach(function (t) { if (t.id === data.ticket_id) t.preview = message.text; });
      });
      renderList();
    }
    if (state.detail && data.ticket_id === state.detail.id) {
      appendMessage(message);
      if (message.role === "user") debounce("suggest", loadSuggestions, 300);
    }
  }

  // -- lists ----------------------------------------------------------------------------------------------

  function refreshLists() {
    ["waiting", "assigned"].concat(state.tab === "resolved" ? ["resolved"] : []).forEach(function (status) {
      api("GET", "/v1/handoff/tickets?status=" + status).then(function (data) {
        state.lists[status] = data.tickets;
        renderCounts();
        if (state.tab === status) renderList();
      }).catch(fail);
    });
  }

  function renderCounts() {
    $("count-waiting").textContent = String(state.lists.waiting.length);
    var mine = state.lists.assigned.filter(function (t) { return state.me && t.assigned_to === state.me.username; });
    $("count-assigned").textContent = String(state.lists.assigned.length) + (mine.length ? " · " + mine.length : "");
  }

  function tierBadge(tier) {
    var label = TIERS[tier] || [tier, tier];
    return el("span", { cls: "badge tier tier-" + tier, text: label[0], title: label[1], testid: "tier-badge" });
  }

  function channelBadge(channel) {
    return el("span", { cls: "badge channel channel-" + channel, text: CHANNELS[channel] || channel, testid: "channel-badge" });
  }

  function slaNode(ticket) {
    var node = el("span", { cls: "sla", testid: "sla" });
    node.dataset.deadline = String(Date.now() / 1000 + ticket.sla_remaining_seconds);
    if (ticket.first_reply_at || ticket.status === "resolved") node.dataset.frozen = ticket.breached ? "breached" : "met";
    updateSla(node);
    return node;
  }

  function updateSla(node) {
    if (node.dataset.frozen) {
      node.textContent = node.dataset.frozen === "breached" ? "SLA 超时 · breached" : "SLA 达标 · met";
      node.classList.toggle("breached", node.dataset.frozen === "breached");
      return;
    }
    var remaining = Number(node.dataset.deadline) - Date.now() / 1000;
    node.classList.toggle("breached", remaining < 0);
    node.classList.toggle("soon", remaining >= 0 && remaining < 120);
    node.textContent = remaining < 0 ? "已超时 " + clock(-remaining) + " · breached" : "剩余 " + clock(remaining) + " · SLA";
  }

  function renderList() {
    if (state.tab === "candidates") return;
    var list = $("ticket-list");
    var tickets = state.lists[state.tab] || [];
    clear(list);
    tickets.forEach(function (t) {
      var meta = el("div", { cls: "meta" }, slaNode(t));
      if (t.queue_position) meta.appendChild(el("span", { cls: "position", text: "#" + t.queue_position }));
      if (t.assigned_name) meta.appendChild(el("span", { cls: "assignee", text: "→ " + t.assigned_name }));
      var card = el("button", { cls: "ticket-card", testid: "ticket-card", data: { id: t.id }, on: { click: function () { select(t.id); } } },
        el("div", { cls: "line" },
          tierBadge(t.tier), channelBadge(t.channel),
          t.kind === "message" ? el("span", { cls: "badge kind", text: "留言", title: "Message left after hours" }) : null,
          el("strong", { cls: "name", text: t.user_name || t.user_id })),
        el("p", { cls: "preview", text: t.preview || t.summary || "" }),
        meta);
      if (t.id === state.selected) card.classList.add("selected");
      list.appendChild(el("li", null, card));
    });
    show($("list-empty"), tickets.length === 0);
  }

  function switchTab(tab) {
    state.tab = tab;
    document.querySelectorAll(".tabs [data-tab]").forEach(function (b) { b.classList.toggle("active", b.dataset.tab === tab); });
    var candidates = tab === "candidates";
    show($("ticket-list"), !candidates);
    show($("candidates-view"), candidates);
    show($("ticket-view"), !candidates && !!state.detail);
    show($("no-selection"), !candidates && !state.detail);
    show($("packet-pane"), !candidates && !!state.detail);
    if (candidates) { show($("list-empty"), false); loadCandidates(); return; }
    renderList();
    refreshLists();
  }

  // -- one ticket -----------------------------------------------------------------------------------------

  function select(id) {
    state.selected = id;
    state.seen = new Set();
    $("reply-input").value = "";
    renderList();
    reloadDetail();
    loadSuggestions();
  }

  function reloadDetail() {
    var id = state.selected;
    if (!id) return;
    api("GET", "/v1/handoff/tickets/" + encodeURIComponent(id)).then(function (detail) {
      if (state.selected === id) renderDetail(detail);
    }).catch(fail);
  }

  function mine(detail) {
    return detail.status === "assigned" && state.me && detail.assigned_to === state.me.username;
  }

  function renderDetail(d) {
    var first = !state.detail || state.detail.id !== d.id;
    state.detail = d;
    show($("no-selection"), false);
    show($("ticket-view"), true);
    show($("packet-pane"), true);
    $("ticket-user").textContent = (d.user_name || d.user_id) + "  ·  " + d.user_id;
    var badges = $("ticket-badges");
    clear(badges);
    badges.appendChild(tierBadge(d.tier));
    badges.appendChild(channelBadge(d.channel));
    if (d.kind === "message") badges.appendChild(el("span", { cls: "badge kind", text: "留言 · after-hours message" }));
    var status = $("ticket-status");
    clear(status);
    status.appendChild(bilingual(STATUS[d.status] || [d.status, d.status]));
    if (d.assigned_name) status.appendChild(el("span", { cls: "assignee", text: " · " + d.assigned_name }));
    var sla = $("ticket-sla");
    sla.replaceWith(Object.assign(slaNode(d), { id: "ticket-sla" }));
    show($("claim-btn"), d.status === "waiting");

    var own = mine(d);
    $("reply-input").disabled = !own;
    $("reply-send").disabled = !own;
    $("reply-hint").textContent = own ? "" : d.status === "waiting"
      ? "接入后即可回复 · Claim the ticket to reply"
      : d.status === "resolved" ? "工单已结束 · This ticket is resolved" : "由 " + (d.assigned_name || "") + " 处理中 · Assigned to another advisor";
    var canAct = d.status === "assigned" && (own || (state.me && state.me.role === "admin"));
    show($("actions"), canAct);

    var transcript = $("transcript");
    if (first) { clear(transcript); state.seen = new Set(); }
    d.transcript.forEach(appendMessage);
    renderPacket(d);
    renderNotes(d.notes);
    renderTransferOptions();
    if (first) {
      $("add-to-kb").checked = false;
      show($("kb-fields"), false);
      $("resolve-note").value = "";
    }
  }

  function appendMessage(m) {
    if (!m || !m.message_id || state.seen.has(m.message_id)) return;
    state.seen.add(m.message_id);
    var role = ROLES[m.role] || [m.role, m.role];
    var who = m.role === "agent" && m.agent_name ? role[0] + " " + m.agent_name : role[0] + " · " + role[1];
    var item = el("li", { cls: "msg role-" + m.role, testid: "message", data: { role: m.role } },
      el("div", { cls: "msg-meta" }, el("span", { text: who }), el("time", { text: timeOf(m.created_at) })),
      el("p", { cls: "msg-text", text: m.text }));
    var list = $("transcript");
    var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.appendChild(item);
    if (stick || m.role === "agent") list.scrollTop = list.scrollHeight;
  }

  function renderPacket(d) {
    var p = d.packet || {};
    var reason = REASONS[d.reason] || [d.reason || "", ""];
    $("packet-reason").textContent = reason[1] ? reason[0] + " · " + reason[1] : reason[0];
    var user = p.user || {};
    $("packet-user").textContent = (user.name || "—") + " · " + (user.id || d.user_id) + " · " + ((TIERS[user.tier] || [user.tier])[0] || "");
    $("packet-channel").textContent = (p.channel || d.channel) + (p.locale ? " · " + p.locale : "");
    $("packet-sentiment").textContent = p.sentiment === null || p.sentiment === undefined ? "—" : String(p.sentiment);
    $("packet-summary").textContent = d.summary || p.summary || "";

    var intents = $("packet-intents");
    clear(intents);
    (p.intent_trail || []).forEach(function (turn) {
      var confidence = typeof turn.confidence === "number" ? " " + Math.round(turn.confidence * 100) + "%" : "";
      intents.appendChild(el("li", null,
        el("span", { cls: "intent", text: (turn.intent || "?") + confidence }),
        turn.action ? el("span", { cls: "action", text: turn.action }) : null,
        el("q", { text: turn.text || "" })));
    });
    if (!intents.firstChild) intents.appendChild(el("li", { cls: "empty small", text: "— 无 · none" }));

    var queries = $("packet-queries");
    clear(queries);
    (p.queries || []).forEach(function (q) {
      var evidence = el("ul", { cls: "evidence" });
      (q.evidence || []).forEach(function (hit) {
        var score = typeof hit.score === "number" ? hit.score.toFixed(2) : "?";
        evidence.appendChild(el("li", null, el("code", { text: hit.id }), " " + (hit.question || "") + " ", el("span", { cls: "score", text: score })));
      });
      if (!evidence.firstChild) evidence.appendChild(el("li", { text: "— 无证据 · no evidence" }));
      queries.appendChild(el("li", { cls: q.found ? "found" : "missing" },
        el("span", { cls: "badge " + (q.found ? "ok" : "warn"), text: q.found ? "找到答案 found" : "未找到 no answer" }),
        el("q", { text: q.query || q.text }),
        q.context ? el("span", { cls: "context", text: " 上下文 context: " + q.context }) : null,
        evidence));
    });
    if (!queries.firstChild) queries.appendChild(el("li", { cls: "empty small", text: "— 无 · none" }));
  }

  function renderNotes(notes) {
    var list = $("notes");
    clear(list);
    (notes || []).forEach(function (n) {
      list.appendChild(el("li", { testid: "note" },
        el("div", { cls: "msg-meta" }, el("span", { text: n.author }), el("time", { text: timeOf(n.at) })),
        el("p", { text: n.text })));
    });
  }

  function renderTransferOptions() {
    var select = $("transfer-to");
    var current = state.detail ? state.detail.assigned_to : null;
    clear(select);
    state.agents.filter(function (a) { return a.active && a.username !== current; }).forEach(function (a) {
      var option = el("option", { text: a.display_name + " (" + a.username + ")" });
      option.value = a.username;
      select.appendChild(option);
    });
  }

  function loadSuggestions() {
    var id = state.selected;
    if (!id) return;
    api("GET", "/v1/handoff/tickets/" + encodeURIComponent(id) + "/suggestions").then(function (data) {
      if (state.selected !== id) return;
      var list = $("suggestions");
      clear(list);
      data.suggestions.forEach(function (s) {
        list.appendChild(el("li", { testid: "suggestion" },
          el("div", { cls: "line" }, el("strong", { text: s.question }), el("span", { cls: "score", text: s.score.toFixed(2) })),
          el("p", { text: s.answer }),
          el("button", { cls: "small", text: "插入 · Insert", testid: "suggestion-insert", on: { click: function () { insertReply(s.answer); } } })));
      });
      show($("suggestions-empty"), data.suggestions.length === 0);
    }).catch(fail);
  }

  function insertReply(text) {
    var box = $("reply-input");
    if (box.disabled) { toast("请先接入工单 · Claim the ticket first", "error"); return; }
    box.value = box.value.trim() ? box.value.replace(/\s*$/, "\n") + text : text;
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  // -- actions --------------------------------------------------------------------------------------------

  function ticketPath(suffix) { return "/v1/handoff/tickets/" + encodeURIComponent(state.selected) + suffix; }

  function claim() {
    api("POST", ticketPath("/claim")).then(function (detail) {
      toast("已接入 · Claimed", "ok");
      renderDetail(detail);
      refreshLists();
      $("reply-input").focus();
    }).catch(function (err) {
      toast(err.status === 409 ? "已被其他顾问接入 · Someone else claimed it" : err.message, "error");
      reloadDetail();
    });
  }

  function sendReply(event) {
    event.preventDefault();
    var box = $("reply-input");
    var text = box.value.trim();
    if (!text || box.disabled) return;
    $("reply-send").disabled = true;
    api("POST", ticketPath("/messages"), { text: text }).then(function (message) {
      box.value = "";
      appendMessage(message);
    }).catch(fail).finally(function () { $("reply-send").disabled = !(state.detail && mine(state.detail)); });
  }

  function typing() {
    if (!state.detail || !mine(state.detail) || Date.now() - state.lastTyping < 3000) return;
    state.lastTyping = Date.now();
    api("POST", ticketPath("/typing"), { active: true }).catch(function () {});
  }

  function addNote(event) {
    event.preventDefault();
    var text = $("note-input").value.trim();
    if (!text) return;
    api("POST", ticketPath("/notes"), { text: text }).then(function () {
      $("note-input").value = "";
      reloadDetail();
    }).catch(fail);
  }

  function transfer(event) {
    event.preventDefault();
    var to = $("transfer-to").value;
    if (!to) return;
    api("POST", ticketPath("/transfer"), { to: to }).then(function () {
      toast("已转接 · Transferred", "ok");
      reloadDetail();
      refreshLists();
    }).catch(fail);
  }

  function agentAnswer() {
    var d = state.detail;
    return d ? d.transcript.filter(function (m) { return m.role === "agent" && m.ticket_id === d.id; })
      .map(function (m) { return m.text; }).join("\n") : "";
  }

  function toggleKb() {
    var on = $("add-to-kb").checked;
    show($("kb-fields"), on);
    if (on && state.detail) {
      if (!$("kb-question").value) $("kb-question").value = (state.detail.packet || {}).unresolved_question || "";
      if (!$("kb-answer").value) $("kb-answer").value = agentAnswer();
    }
  }

  function resolve(event) {
    event.preventDefault();
    var addToKb = $("add-to-kb").checked;
    var body = { note: $("resolve-note").value, add_to_kb: addToKb };
    if (addToKb) { body.kb_question = $("kb-question").value; body.kb_answer = $("kb-answer").value; }
    api("POST", ticketPath("/resolve"), body).then(function (result) {
      var extra = result.candidate ? "，已生成知识库候选 · FAQ candidate created" : "";
      toast("已结束，会话交还机器人 · Resolved" + extra, "ok");
      $("kb-question").value = "";
      $("kb-answer").value = "";
      reloadDetail();
      refreshLists();
    }).catch(fail);
  }

  // -- knowledge-base candidates (admins) -----------------------------------------------------------------

  function loadCandidates() {
    api("GET", "/v1/kb/candidates").then(function (data) {
      var list = $("candidate-list");
      clear(list);
      data.candidates.forEach(function (c) { list.appendChild(candidateCard(c)); });
      show($("candidates-empty"), data.candidates.length === 0);
    }).catch(fail);
  }

  function candidateCard(c) {
    var question = el("input", { testid: "candidate-question" });
    question.value = c.question;
    var answer = el("textarea", { testid: "candidate-answer" });
    answer.rows = 4;
    answer.value = c.answer;
    var category = el("input", { testid: "candidate-category" });
    category.value = c.category || "";
    category.placeholder = "分类 · Category";
    var path = "/v1/kb/candidates/" + encodeURIComponent(c.id);
    function save() {
      return api("PUT", path, { question: question.value, answer: answer.value, category: category.value });
    }
    return el("li", { cls: "card candidate", testid: "candidate" },
      el("label", null, "问题 ", el("small", { text: "Question" }), question),
      el("label", null, "答案 ", el("small", { text: "Answer" }), answer),
      el("label", null, "分类 ", el("small", { text: "Category" }), category),
      el("div", { cls: "line" },
        el("button", { text: "保存 · Save", on: { click: function () { save().then(function () { toast("已保存 · Saved", "ok"); }).catch(fail); } } }),
        el("button", { cls: "primary", text: "发布 · Publish", testid: "candidate-publish", on: { click: function () {
          save().then(function () { return api("POST", path + "/publish"); }).then(function (done) {
            toast("已发布，版本 " + done.published_version + " · Published", "ok");
            loadCandidates();
          }).catch(fail);
        } } }),
        el("button", { cls: "danger", text: "删除 · Delete", on: { click: function () {
          if (!window.confirm("删除这个候选？ Delete this candidate?")) return;
          api("DELETE", path).then(loadCandidates).catch(fail);
        } } })),
      el("p", { cls: "hint", text: "来自工单 ticket " + c.ticket_id.slice(0, 8) + " · " + c.created_by }));
  }

  // -- wiring ---------------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".tabs [data-tab]").forEach(function (b) {
      b.addEventListener("click", function () { switchTab(b.dataset.tab); });
    });
    $("claim-btn").addEventListener("click", claim);
    $("reply-form").addEventListener("submit", sendReply);
    $("reply-input").addEventListener("input", typing);
    $("reply-input").addEventListener("keydown", function (e) {
      // Enter sends, but not while an IME is composing Chinese.
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) sendReply(e);
    });
    $("note-form").addEventListener("submit", addNote);
    $("transfer-form").addEventListener("submit", transfer);
    $("add-to-kb").addEventListener("change", toggleKb);
    $("resolve-form").addEventListener("submit", resolve);
    setInterval(function () { document.querySelectorAll(".sla[data-deadline]").forEach(updateSla); }, 1000);
    session.begin();
  });
})();
