// The server page's live figures: polls /server/stats.json and draws rates as SVG polylines.
(function () {
  "use strict";
  var WIDTH = 600, HEIGHT = 150, KEEP = 60, PERIOD = 2000;
  var samples = [];

  function rates() {
    var out = [];
    for (var i = 1; i < samples.length; i++) {
      var a = samples[i - 1], b = samples[i], dt = Math.max(b.time - a.time, 0.001);
      out.push({
        bytes: (b.bytes_sent + b.bytes_received - a.bytes_sent - a.bytes_received) / dt,
        handshakes: (b.handshakes + b.failed_handshakes - a.handshakes - a.failed_handshakes) / dt
      });
    }
    return out;
  }

  function points(values) {
    var top = Math.max.apply(null, values.concat([1]));
    var step = WIDTH / (KEEP - 1);
    return values.map(function (v, i) {
      var x = WIDTH - (values.length - 1 - i) * step;
      return x.toFixed(1) + "," + (HEIGHT - (v / top) * (HEIGHT - 10)).toFixed(1);
    }).join(" ");
  }

  function draw() {
    var r = rates();
    document.getElementById("line-bytes").setAttribute("points", points(r.map(function (s) { return s.bytes; })));
    document.getElementById("line-handshakes").setAttribute("points", points(r.map(function (s) { return s.handshakes; })));
    if (r.length) {
      var last = r[r.length - 1];
      document.getElementById("chart-scale").textContent =
        "now: " + Math.round(last.bytes) + " bytes/s, " + last.handshakes.toFixed(2) + " handshakes/s";
    }
  }

  function fillTable(id, counts) {
    var body = document.querySelector("#" + id + " tbody");
    var kinds = Object.keys(counts).sort();
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!kinds.length) { kinds = [null]; }
    kinds.forEach(function (kind) {
      var row = document.createElement("tr");
      [kind === null ? "none" : kind, kind === null ? "" : String(counts[kind])].forEach(function (text) {
        var cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
  }

  function update(stats) {
    if (!("handshakes" in stats)) { return; }
    fillTable("alerts", stats.alerts);
    fillTable("groups", stats.groups);
    samples.push(stats);
    if (samples.length > KEEP + 1) { samples.shift(); }
    var cells = document.querySelectorAll("[data-stat]");
    for (var i = 0; i < cells.length; i++) {
      var name = cells[i].getAttribute("data-stat");
      if (name in stats) { cells[i].textContent = stats[name]; }
    }
    draw();
  }

  function poll() {
    fetch("/server/stats.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(update)
      .catch(function () {})
      .then(function () { setTimeout(poll, PERIOD); });
  }

  poll();
}());
