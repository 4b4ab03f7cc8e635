/* Admins' analytics: KPIs, four charts (Chart.js, vendored) and the knowledge-gap list with one-click publishing.
   User-supplied text (gap questions, advisors' answers) is rendered with textContent only. */
(function () {
  "use strict";

  var Zx = window.ZxConsole;
  var $ = Zx.$, el = Zx.el, clear = Zx.clear, show = Zx.show, toast = Zx.toast;
  var TIERS = { vip: "VIP", member: "会员 Member", free: "免费 Free" };
  var REASONS = {
    explicit_request: "用户要求人工 Asked for a person",
    repeated_failure: "多次未能解决 Repeated failures",
    negative_sentiment: "情绪负面 Negative sentiment",
    complaint: "投诉 Complaint",
    high_stakes_low_confidence: "高风险低把握 High stakes, low confidence",
  };
  var COLORS = { confirmed: "#0f766e", assumed: "#5eead4", bar: "#2563eb", target: "#b42318" };
  // The console's session: logging in there logs in here.
  var session = Zx.session({ onStart: start, onEnd: function () { show($("dashboard"), false); } });
  var api = session.api;
  var state = { charts: {} };

  function pct(value) { return value === null || value === undefined ? "–" : (value * 100).toFixed(1) + "%"; }
  function secs(value) {
    if (value === null || value === undefined) return "–";
    return value < 90 ? Math.round(value) + "s" : (value / 60).toFixed(1) + "min";
  }

  // -- session --------------------------------------------------------------------------------------------

  function start() {
    api("GET", "/v1/agents/me").then(function (me) {
      if (me.role !== "admin") {
        show($("dashboard"), false);
        show($("login-view"), true);
        $("login-error").textContent = "仅限管理员 · Administrators only";
        return;
      }
      $("me").textContent = me.display_name + " (" + me.username + ")";
      session.signedIn();
      show($("dashboard"), true);
      load();
    }).catch(function () { session.logout(); });
  }

  // -- loading --------------------------------------------------------------------------------------------

  function query() {
    var params = new URLSearchParams();
    if ($("from").value) params.set("from", $("from").value);
    if ($("to").value) params.set("to", $("to").value);
    return params;
  }

  function load(event) {
    if (event) event.preventDefault();
    var params = query();
    var filtered = new URLSearchParams(params);
    if ($("channel").value) filtered.set("channel", $("channel").value);
    if ($("tier").value) filtered.set("tier", $("tier").value);
    api("GET", "/v1/analytics/summary?" + filtered.toString()).then(renderSummary).catch(session.fail);
    $("gaps-status").textContent = "聚类中… · Clustering…";
    clear($("gap-list"));
    api("GET", "/v1/analytics/gaps?" + params.toString()).then(renderGaps).catch(function (err) {
      $("gaps-status").textContent = err.message;
    });
  }

  function dayBefore(isoDate) {
    var d = new Date(isoDate + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - 1);
    return d.toISOString().slice(0, 10);
  }

  // -- summary --------------------------------------------------------------------------------------------

  function renderSummary(s) {
    if (!$("from").value) $("from").value = s.start.slice(0, 10);
    if (!$("to").value) $("to").value = s.end.slice(11, 19) === "00:00:00" ? dayBefore(s.end.slice(0, 10)) : s.end.slice(0, 10);
    $("period").textContent = s.start + " → " + s.end + " (" + s.timezone + ") · " + s.events_read +
      " events · " + s.seconds + " s";
    renderKpis(s.totals);
    renderCharts(s);
    renderSegments(s);
  }

  function kpi(label, value, detail, testid) {
    return el("div", { cls: "card kpi", testid: testid },
      el("div", { cls: "value", text: value }), el("div", { cls: "label", text: label }),
      el("div", { cls: "detail", text: detail || "" }));
  }

  function renderKpis(t) {
    var box = $("kpis");
    clear(box);
    box.appendChild(kpi("会话 Conversations", String(t.conversations), t.engaged_conversations + " engaged", "kpi-conversations"));
    box.appendChild(kpi("自助解决率 Containment", pct(t.containment.rate),
      "确认 confirmed " + pct(t.containment.confirmed_rate) + " · 推定 assumed " + pct(t.containment.assumed_rate),
      "kpi-containment"));
    box.appendChild(kpi("转人工率 Handoff rate", pct(t.handoffs.rate), t.handoffs.tickets + " tickets", "kpi-handoff"));
    box.appendChild(kpi("首次回复 First reply P50", secs(t.first_reply.p50_seconds),
      "P90 " + secs(t.first_reply.p90_seconds) + " · SLA " + pct(t.sla.attainment), "kpi-first-reply"));
    box.appendChild(kpi("满意度 CSAT", t.csat.average === null ? "–" : t.csat.average.toFixed(2),
      t.csat.count + " ratings", "kpi-csat"));
    box.appendChild(kpi("答案有用 Useful answers", pct(t.feedback.useful_rate),
      "👍 " + t.feedback.up + " · 👎 " + t.feedback.down, "kpi-feedback"));
  }

  function chart(id, config) {
    if (state.charts[id]) state.charts[id].destroy();
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    state.charts[id] = new window.Chart($(id), config);
  }

  function renderCharts(s) {
    var days = s.daily;
    var share = function (key) {
      return days.map(function (d) { return d.engaged ? Math.round((1000 * d[key]) / d.engaged) / 10 : 0; });
    };
    chart("chart-containment", {
      type: "bar",
      data: {
        labels: days.map(function (d) { return d.date.slice(5); }),
        datasets: [
          { label: "确认 Confirmed %", data: share("confirmed"), backgroundColor: COLORS.confirmed, stack: "c" },
          { label: "推定 Assumed %", data: share("assumed"), backgroundColor: COLORS.assumed, stack: "c" },
        ],
      },
      options: { scales: { y: { stacked: true, min: 0, max: 100 }, x: { stacked: true } } },
    });
    var reasons = s.totals.handoffs.reasons;
    chart("chart-reasons", {
      type: "bar",
      data: {
        labels: Object.keys(reasons).map(function (r) { return REASONS[r] || r; }),
        datasets: [{ label: "工单 Tickets", data: Object.values(reasons), backgroundColor: COLORS.bar }],
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } } },
    });
    var tiers = Object.keys(s.by_tier);
    chart("chart-sla", {
      type: "bar",
      data: {
        labels: tiers.map(function (t) {
          var target = s.by_tier[t].sla.target_minutes;
          return (TIERS[t] || t) + (target ? " (" + target + " min)" : "");
        }),
        datasets: [{
          label: "达标 Within SLA %",
          data: tiers.map(function (t) {
            var a = s.by_tier[t].sla.attainment;
            return a === null ? 0 : Math.round(a * 1000) / 10;
          }),
          backgroundColor: COLORS.confirmed,
        }],
      },
      options: { scales: { y: { min: 0, max: 100 } }, plugins: { legend: { display: false } } },
    });
    var dist = s.totals.csat.distribution;
    chart("chart-csat", {
      type: "bar",
      data: {
        labels: ["1", "2", "3", "4", "5"],
        datasets: [{ label: "评分 Ratings", data: ["1", "2", "3", "4", "5"].map(function (k) { return dist[k] || 0; }),
          backgroundColor: ["#b42318", "#f04438", "#f79009", "#66c61c", "#067647"] }],
      },
      options: { plugins: { legend: { display: false } } },
    });
  }

  function segmentRow(name, m) {
    return el("tr", {},
      el("td", { text: name }), el("td", { text: String(m.conversations) }),
      el("td", { text: pct(m.containment.rate) }), el("td", { text: pct(m.containment.confirmed_rate) }),
      el("td", { text: pct(m.handoffs.rate) }),
      el("td", { text: secs(m.first_reply.p50_seconds) + " / " + secs(m.first_reply.p90_seconds) }),
      el("td", { text: pct(m.sla.attainment) + (m.sla.target_minutes ? " (≤" + m.sla.target_minutes + "min)" : "") }),
      el("td", { text: m.csat.average === null ? "–" : m.csat.average.toFixed(2) }));
  }

  function renderSegments(s) {
    var body = $("segment-rows");
    clear(body);
    body.appendChild(segmentRow("全部 All", s.totals));
    Object.keys(s.by_channel).forEach(function (c) { body.appendChild(segmentRow("渠道 " + c, s.by_channel[c])); });
    Object.keys(s.by_tier).forEach(function (t) { body.appendChild(segmentRow(TIERS[t] || t, s.by_tier[t])); });
  }

  // -- knowledge gaps -------------------------------------------------------------------------------------

  function renderGaps(report) {
    var list = $("gap-list");
    clear(list);
    $("gaps-status").textContent = report.texts + " 条未解决问题 unanswered questions · " + report.distinct_texts +
      " distinct · " + report.clusters.length + " clusters · " + report.seconds + " s";
    report.clusters.forEach(function (c) { list.appendChild(gapItem(c)); });
  }

  function gapItem(c) {
    var examples = el("ol", { cls: "examples" });
    c.examples.forEach(function (e) {
      examples.appendChild(el("li", {}, e.text, el("span", { cls: "badge count", text: "×" + e.count })));
    });
    return el("li", { cls: "gap", testid: "gap" },
      el("div", { cls: "head" },
        el("span", { cls: "title", testid: "gap-title", text: c.title }),
        el("span", { cls: "badge warn", testid: "gap-size", text: c.size + " 次 asked · " + c.conversations + " conv." })),
      examples,
      c.proposal ? proposalBox(c.proposal) : el("p", { cls: "muted", text: "暂无顾问答案 · No advisor answer yet" }));
  }

  function proposalBox(p) {
    var status = el("span", { cls: "muted", testid: "proposal-status" });
    var button = el("button", { cls: "primary small", testid: "publish", text: "发布到知识库 Publish" });
    var published = p.candidate_status === "published";
    if (published) { button.disabled = true; status.textContent = "已发布 Published"; }
    button.addEventListener("click", function () { publish(p, button, status); });
    return el("div", { cls: "proposal", testid: "proposal" },
      el("p", {}, el("strong", { text: "Q: " }), el("span", { testid: "proposal-question", text: p.question })),
      el("p", {}, el("strong", { text: "A: " }), el("span", { testid: "proposal-answer", text: p.answer })),
      el("div", { cls: "actions" }, button, status));
  }

  function publish(p, button, status) {
    button.disabled = true;
    status.textContent = "发布中… · Publishing…";
    var candidate = p.candidate_id && p.candidate_status === "pending"
      ? Promise.resolve({ id: p.candidate_id })
      : api("POST", "/v1/analytics/gaps/proposals", { ticket_id: p.ticket_id, question: p.question, answer: p.answer });
    candidate.then(function (c) {
      return api("POST", "/v1/kb/candidates/" + encodeURIComponent(c.id) + "/publish");
    }).then(function (done) {
      p.candidate_id = done.id;
      p.candidate_status = done.status;
      status.textContent = "已发布 Published · " + (done.published_version || "");
      toast("已发布到知识库 · Published to the knowledge base", "ok");
    }).catch(function (err) {
      button.disabled = false;
      status.textContent = err.message;
      toast(err.message, "error");
    });
  }

  // -- wiring ---------------------------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    $("filters").addEventListener("submit", load);
    session.begin();
  });
})();
