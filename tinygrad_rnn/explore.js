// The explorer's script (inlined by tinygrad_rnn/explore.py): lays out the graph as rows (one
// per layer/direction) and columns (before the steps, t = 1..T, after), draws it as SVG, and
// plays the backward log back. No network, no libraries.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const SVGNS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
                   "#bd0026", "#800026"];
  const NW = 96, NH = 40, GX = 22, GY = 12, CW = 84, CH = 58, PAD = 16;
  const byId = new Map();
  for (const a of D.nodes) {
    byId.set(a[0], {id: a[0], kind: a[1], op: a[2], name: a[3], shape: a[4], row: a[5], cell: a[6],
                    step: a[7], value: a[8] || null, grad: a[9] || null, inputs: a[10], out: a[11],
                    head: a[12]});
  }
  const nodes = [...byId.values()];
  const params = D.params;
  const L = D.log.length;
  // when each node's gradient starts arriving and is complete (positions in the log)
  const first = new Map(), last = new Map();
  D.log.forEach(([, p], k) => { if (!first.has(p)) first.set(p, k); last.set(p, k); });
  const norms = nodes.filter(n => n.grad && n.grad[0] > 0).map(n => Math.log10(n.grad[0]));
  const lo = norms.length ? Math.floor(Math.min(...norms)) : -1;
  const hi = Math.max(norms.length ? Math.ceil(Math.max(...norms)) : 0, lo + 1);
  const pos = v => Math.min(1, Math.max(0, (Math.log10(v) - lo) / (hi - lo)));
  const colour = v => PALETTE[Math.round(pos(v) * (PALETTE.length - 1))];
  const sci = v => { const [m, e] = v.toExponential(3).split("e"); return m + "e" + parseInt(e, 10); };
  const sci2 = v => { const [m, e] = v.toExponential(1).split("e"); return m + "e" + parseInt(e, 10); };

  const state = {view: D.steps.length > 8 ? "collapsed" : "block", open: new Set(), k: L,
                 closed: new Set()};
  const stateOf = new Map();  // state node id → [lane, step]
  D.states.forEach((m, lane) => Object.entries(m).forEach(([t, id]) => stateOf.set(id, [lane, +t])));

  // ---- which columns exist and how each node is placed -------------------------------------
  const cellKey = n => n.row + "|" + n.cell;
  function buildCells(list) {
    const cells = new Map();
    for (const n of list) {
      if (n.kind === "parameter") continue;
      const key = cellKey(n);
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push(n);
    }
    for (const members of cells.values()) placeIn(members);
    return cells;
  }
  // the block view: one stand-in per block (a named quantity and the unnamed ops it folds in)
  const heads = new Map();
  for (const n of nodes) {
    if (n.kind === "parameter") continue;
    if (!heads.has(n.head)) {
      const base = byId.get(n.head);
      heads.set(n.head, Object.assign({}, base, {name: D.blocks[n.head] || base.name, members: []}));
    }
    heads.get(n.head).members.push(n);
  }
  for (const b of heads.values()) {
    const ins = new Set();
    for (const m of b.members) for (const i of m.inputs) {
      const src = byId.get(i), h = src.kind === "parameter" ? i : src.head;
      if (h !== b.id) ins.add(h);
    }
    b.inputs = [...ins];
  }
  const blockNodes = [...heads.values()].sort((a, b) => a.id - b.id);
  const cellsOps = buildCells(nodes), cellsBlock = buildCells(blockNodes);
  let cells = cellsOps, shown = nodes;
  function placeIn(members) {  // depth inside the cell: a small layered layout
    const inCell = new Set(members.map(n => n.id));
    const depth = new Map();
    for (const n of members) {
      let d = 0;
      for (const i of n.inputs) if (inCell.has(i) && depth.has(i)) d = Math.max(d, depth.get(i) + 1);
      depth.set(n.id, d);
    }
    const perDepth = [], perKind = {};
    members.roles = new Map();  // "op:5": the 6th op of the step, the same op in every step
    for (const n of members) {
      const d = depth.get(n.id);
      perDepth[d] = (perDepth[d] || 0) + 1;
      perKind[n.kind] = (perKind[n.kind] || 0) + 1;
      n.col = d; n.slot = perDepth[d] - 1; n.role = n.kind + ":" + (perKind[n.kind] - 1);
      members.roles.set(n.role, n);
    }
    members.ops = perKind.op || 0;
    members.cols = perDepth.length; members.slots = Math.max(...perDepth);
  }
  const rows = [...new Set(nodes.filter(n => n.kind !== "parameter").map(n => n.row))].sort((a, b) =>
    (a === -1) - (b === -1) || a - b);
  const rowName = r => r === -1 ? "outside the steps" : D.lanes[r];

  function columns() {
    const steps = state.view === "rolled" ? D.steps.slice(0, 1) : D.steps;
    return ["pre", ...steps.map(t => "t" + t), "post"].filter(c => rows.some(r => cells.has(r + "|" + c)));
  }
  function isOpen(c) {
    if (c === "pre" || c === "post") return !state.closed.has(c);
    if (state.view !== "collapsed") return !state.closed.has(c);
    return state.open.has(c);
  }

  // ---- drawing -----------------------------------------------------------------------------
  let timer = null;
  const el = (tag, attrs, parent) => {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  };
  let where = new Map();      // node id → {x, y} centre of what shows it (node or cell box)
  let shapes = new Map();     // node id → its own SVG element (when its cell is open)
  let cellShapes = new Map(); // cell key → the SVG rect of a folded cell

  function layout() {
    const cols = columns(), x0 = new Map(), widths = new Map();
    let x = PAD + 150;
    for (const c of cols) {
      let w = CW;
      if (isOpen(c)) for (const r of rows) { const m = cells.get(r + "|" + c); if (m) w = Math.max(w, m.cols * (NW + GX)); }
      x0.set(c, x); widths.set(c, w); x += w + GX;
    }
    const y0 = new Map();
    let y = PAD + 30 + NH + 40;
    for (const r of rows) {
      let h = CH;
      for (const c of cols) { const m = cells.get(r + "|" + c); if (m && isOpen(c)) h = Math.max(h, m.slots * (NH + GY)); }
      y0.set(r, [y, h]); y += h + 34;
    }
    return {cols, x0, widths, y0, width: x + PAD, height: y + PAD};
  }

  function draw() {
    const L0 = layout(), canvas = document.getElementById("canvas");
    canvas.innerHTML = "";
    const svg = el("svg", {xmlns: SVGNS, width: L0.width, height: L0.height, id: "graph",
                           "font-family": "Helvetica, Arial, sans-serif", "font-size": 11});
    canvas.appendChild(svg);
    el("defs", {}, svg).innerHTML =
      '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#777"/></marker>' +
      '<marker id="hot" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#d00"/></marker>';
    const title = el("text", {x: PAD, y: PAD + 4, "font-size": 13, "font-weight": "bold"}, svg);
    title.textContent = D.title + "  ·  " + state.view + " view";
    const edgeLayer = el("g", {}, svg), nodeLayer = el("g", {}, svg);
    where = new Map(); shapes = new Map(); cellShapes = new Map();
    // parameters: one box each, across the top
    params.forEach((p, i) => {
      const n = byId.get(p.id), x = PAD + 150 + i * (NW + 30), y = PAD + 30;
      shapes.set(n.id, box(nodeLayer, n, x, y, "param"));
      where.set(n.id, {x: x + NW / 2, y: y + NH / 2});
    });
    for (const r of rows) {
      const [ry, rh] = L0.y0.get(r);
      const label = el("text", {x: PAD, y: ry + 14, class: "rowlabel"}, nodeLayer);
      label.textContent = rowName(r);
      for (const c of L0.cols) {
        const m = cells.get(r + "|" + c);
        if (!m) continue;
        const cx = L0.x0.get(c);
        if (isOpen(c)) {
          el("rect", {x: cx - 6, y: ry - 6, width: L0.widths.get(c) - GX + 12, height: rh + 4,
                      rx: 8, class: "cellframe"}, nodeLayer);
          for (const n of m) {
            const x = cx + n.col * (NW + GX), y = ry + n.slot * (NH + GY);
            shapes.set(n.id, box(nodeLayer, n, x, y, n.kind));
            where.set(n.id, {x: x + NW / 2, y: y + NH / 2});
          }
        } else {
          const g = el("g", {class: "cell", "data-cell": c, "data-row": r}, nodeLayer);
          const rect = el("rect", {x: cx, y: ry, width: CW, height: CH, rx: 4}, g);
          const t = el("text", {x: cx + CW / 2, y: ry + 16, "text-anchor": "middle"}, g);
          t.textContent = c === "pre" ? "inputs" : c === "post" ? "outputs" : c.replace("t", "t=");
          const t2 = el("text", {x: cx + CW / 2, y: ry + 31, "text-anchor": "middle", class: "small"}, g);
          t2.textContent = m.filter(n => n.kind === "op").length + " ops";
          const t3 = el("text", {x: cx + CW / 2, y: ry + 46, "text-anchor": "middle", class: "small gradtext"}, g);
          g.onclick = () => toggle(c);
          g.onmouseover = ev => showTip(ev, cellTip(r, c, m));
          g.onmouseout = hideTip;
          cellShapes.set(r + "|" + c, {rect, text: t3, members: m});
          for (const n of m) where.set(n.id, {x: cx + CW / 2, y: ry + CH / 2});
        }
      }
    }
    // column headers: click a time step to expand or fold it
    for (const c of L0.cols) {
      const h = el("text", {x: L0.x0.get(c) + 4, y: PAD + 30 + NH + 26, class: "colhead", "data-col": c}, nodeLayer);
      h.textContent = (c === "pre" ? "before" : c === "post" ? "after" : (state.view === "rolled" ? "t (every step)" : c.replace("t", "t="))) +
        (isOpen(c) ? " ▾" : " ▸");
      h.onclick = () => toggle(c);
    }
    if (state.view === "block") {  // a folded op is where its block is (for the messages)
      for (const n of nodes) if (!where.has(n.id) && where.has(n.head)) where.set(n.id, where.get(n.head));
    }
    drawEdges(edgeLayer);
    state.hot = el("g", {}, svg);
    paint();
  }

  function box(layer, n, x, y, kind) {
    const g = el("g", {class: "node " + kind, "data-id": n.id, "data-name": n.name,
                       "data-step": n.step === null ? "" : n.step}, layer);
    const round = kind === "op" && !n.members;  // an op is an ellipse, a block a box
    el(round ? "ellipse" : "rect", round
      ? {cx: x + NW / 2, cy: y + NH / 2, rx: NW / 2, ry: NH / 2}
      : {x, y, width: NW, height: NH, rx: kind === "param" || n.members ? 8 : 2}, g);
    const t = el("text", {x: x + NW / 2, y: y + 16, "text-anchor": "middle"}, g);
    t.textContent = n.name;  // the name (or op) on top, the op of a named node under it
    const s = el("text", {x: x + NW / 2, y: y + 31, "text-anchor": "middle", class: "small"}, g);
    const ops = n.members ? n.members.filter(m => m.kind === "op").length : 0;
    s.textContent = ops > 1 ? `${ops} ops · ${n.shape}` : (n.kind === "op" && n.name !== n.op ? n.op + " " : "") + n.shape;
    g.onmouseover = ev => showTip(ev, nodeTip(n));
    g.onmouseout = hideTip;
    return g;
  }

  function drawEdges(layer) {
    const seen = new Set(), cols = new Set(columns()), first = "t" + D.steps[0], fans = new Map();
    const twin = n => {  // rolled: a node of a later step is drawn as its twin in the one cell
      if (state.view !== "rolled" || n.step === null || cols.has(n.cell)) return n;
      const c = cells.get(n.row + "|" + first), mine = cells.get(n.row + "|" + n.cell);
      return c && mine && c.ops === mine.ops ? c.roles.get(n.role) || null : null;
    };
    for (const node of shown) {
      const n = twin(node);
      if (!n) continue;
      for (const i of node.inputs) {
        const src = byId.get(i), s = src && twin(src);
        if (!s) continue;
        const a = where.get(s.id), b = where.get(n.id);
        const loop = state.view === "rolled" && src.step !== null && node.step !== null &&
          src.row === node.row && src.step < node.step;
        if (!a || !b) continue;
        if (src.kind === "parameter" && !shapes.has(n.id) && n.step !== null) {
          fans.set(src.id, [...(fans.get(src.id) || []), [a, b]]);  // to folded steps: below
          continue;
        }
        const key = a.x + "," + a.y + ">" + b.x + "," + b.y + loop;
        if ((a.x === b.x && a.y === b.y && !loop) || seen.has(key)) continue;
        seen.add(key);
        const p = loop ? `M${a.x},${a.y + NH / 2}C${a.x},${a.y + 90} ${b.x},${b.y + 90} ${b.x},${b.y + NH / 2}`
                       : `M${a.x + (b.x > a.x ? NW / 2 : 0)},${a.y}L${b.x - (b.x > a.x ? NW / 2 : 0)},${b.y}`;
        el("path", {d: p, class: src.kind === "parameter" ? "edge param" : loop ? "edge loop" : "edge",
                    "marker-end": "url(#arrow)"}, layer);
        if (loop) { const t = el("text", {x: (a.x + b.x) / 2, y: Math.max(a.y, b.y) + 78, class: "small looplabel"}, layer); t.textContent = "t−1 → t"; }
      }
    }
    for (const ends of fans.values()) {  // a weight used by many folded steps: one arrow, counted
      const distinct = [...new Map(ends.map(([a, b]) => [b.x + "," + b.y, [a, b]])).values()];
      for (const [a, b] of distinct.length > 6 ? distinct.slice(0, 1) : distinct) {
        el("path", {d: `M${a.x},${a.y + NH / 2}L${b.x},${b.y - CH / 2}`, class: "edge param", "marker-end": "url(#arrow)"}, layer);
        if (distinct.length > 6) {
          const t = el("text", {x: b.x + 6, y: b.y - CH / 2 - 4, class: "small paramcount"}, layer);
          t.textContent = `×${distinct.length} steps`;
        }
      }
    }
  }

  // ---- playback: what has arrived after the first k messages --------------------------------
  function done(id, k) {
    const n = byId.get(id);
    if (!n.grad) return false;
    if (!last.has(id)) return true;  // the seed (∂L/∂L = 1) or a gradient read off .grad
    return k > last.get(id);
  }
  function paint() {
    const k = state.k;
    for (const [id, g] of shapes) {
      const n = byId.get(id), shape = g.firstChild;
      const full = n.kind === "parameter" ? runningDone(n.id, k) : done(id, k);
      const partial = !full && first.has(id) && k > first.get(id);
      shape.setAttribute("fill", full && n.grad ? colour(n.grad[0]) : partial ? "#fff4e0" : "#ffffff");
      g.classList.toggle("light", full && !!n.grad && pos(n.grad[0]) > 0.6);
      g.classList.toggle("partial", partial);
    }
    for (const c of cellShapes.values()) {
      const s = c.members.find(n => stateOf.has(n.id));
      const ok = s && done(s.id, k) && s.grad;
      c.rect.setAttribute("fill", ok ? colour(s.grad[0]) : "#f4f4f4");
      c.text.textContent = ok ? "‖g‖=" + sci2(s.grad[0]) : "";
      c.rect.parentNode.classList.toggle("light", !!ok && pos(s.grad[0]) > 0.6);
    }
    state.hot.innerHTML = "";
    const msg = document.getElementById("message");
    if (k > 0 && k <= L) {
      const [c, p, v] = D.log[k - 1], a = where.get(c), b = where.get(p);
      if (a && b && (a.x !== b.x || a.y !== b.y)) {
        const lift = Math.min(60, Math.abs(b.x - a.x) / 4);  // a long message arcs over the cells
        const hot = el("path", {d: `M${a.x},${a.y}Q${(a.x + b.x) / 2},${Math.min(a.y, b.y) - lift} ${b.x},${b.y}`,
                                class: "hotedge", "marker-end": "url(#hot)"}, state.hot);
        if (timer) hot.scrollIntoView({block: "nearest", inline: "center"});  // follow the play
      }
      const cn = byId.get(c), pn = byId.get(p);
      msg.textContent = `message ${k} of ${L}: ` + (c === p
        ? `the view ${label(pn)}ᵀ hands ∂L/∂${label(pn)} back (the sum of what it received)`
        : `${label(cn)} sends ∂L/∂${label(pn)}`) + `, ‖·‖ = ${sci(v)}`;
    } else msg.textContent = L ? `backward: ${L} messages; press play or move the slider` : "no gradients recorded";
    document.getElementById("slider").value = k;
    document.getElementById("pos").textContent = `${k} / ${L}`;
    paintParams(k); paintStates(k);
  }
  const label = n => n.name + (n.step !== null ? ` at t=${n.step}` : "");
  function running(p, k) {
    let r = null;
    for (const s of p.series) { if (s[0] < k) r = s; else break; }
    return r;
  }
  function runningDone(id, k) {
    const p = params.find(q => q.id === id);
    return p.series.length ? k > p.series[p.series.length - 1][0] : !!p.grad;
  }
  function paintParams(k) {
    const box = document.getElementById("params");
    box.innerHTML = "<h3>∂C/∂w = Σ<sub>t</sub> ∂C/∂w<sub>t</sub></h3>";
    for (const p of params) {
      const r = running(p, k), n = p.series.filter(s => s[0] < k).length;
      const div = document.createElement("div");
      div.className = "param"; div.dataset.name = p.name;
      const sum = r ? `‖Σ‖ = ${sci(r[2])}, min ${sci(r[3])}, max ${sci(r[4])}` : "‖Σ‖ = 0";
      const g = p.grad ? `‖.grad‖ = ${sci(p.grad[0])}, min ${sci(p.grad[1])}, max ${sci(p.grad[2])}` : "no .grad";
      const eq = r && p.grad && sci(r[2]) === sci(p.grad[0]) && sci(r[3]) === sci(p.grad[1]) && sci(r[4]) === sci(p.grad[2]);
      div.innerHTML = `<b>${esc(p.name)}</b> <span class="small">${esc(p.shape)}, ${n} of ${p.series.length} messages` +
        `${r && r[1] !== null ? ", last from t=" + r[1] : ""}</span><br><span class="sum">Σ so far: ${sum}</span><br>` +
        `<span class="grad">${g}</span> <span class="eq">${eq ? "= .grad ✓" : ""}</span>`;
      box.appendChild(div);
    }
  }
  function paintStates(k) {
    const box = document.getElementById("states");
    box.innerHTML = "<h3>‖∂L/∂h<sub>t</sub>‖</h3>";
    D.states.forEach((m, lane) => {
      const ids = Object.entries(m).sort((a, b) => a[0] - b[0]);
      if (!ids.length) return;
      const W = 260, H = 60, w = W / ids.length;
      const svg = el("svg", {width: W, height: H + 14, class: "bars", "data-lane": lane});
      ids.forEach(([t, id], j) => {
        const n = byId.get(id);
        if (!n.grad || !done(id, k)) return;
        const h = Math.max(2, pos(n.grad[0]) * H);
        const r = el("rect", {x: j * w, y: H - h, width: Math.max(1, w - 1), height: h, fill: colour(n.grad[0])}, svg);
        el("title", {}, r).textContent = `t=${t}: ‖∂L/∂h_t‖ = ${sci(n.grad[0])}`;
      });
      const t = el("text", {x: 0, y: H + 12, class: "small"}, svg);
      t.textContent = D.lanes[lane] + ": t=" + ids[0][0] + " … " + ids[ids.length - 1][0];
      box.appendChild(svg);
    });
  }

  // ---- hover -------------------------------------------------------------------------------
  const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})[c]);
  const stats = s => s ? `‖·‖ = ${sci(s[0])}, min ${sci(s[1])}, max ${sci(s[2])}` : "not kept (the engine keeps only the values a VJP needs)";
  function nodeTip(n) {
    const g = n.grad ? `‖∂L/∂${n.name}‖ = ${sci(n.grad[0])}, min ${sci(n.grad[1])}, max ${sci(n.grad[2])}` : "no gradient";
    return `<b>${esc(label(n))}</b>${n.row >= 0 ? " in " + esc(D.lanes[n.row]) : ""}<br>op: ${esc(n.op)}, shape ${esc(n.shape)}` +
      `<br>value: ${stats(n.value)}<br>gradient: ${esc(g)}<br>VJP: ${esc(D.rules[n.op] || "—")}` +
      (n.members && n.members.length > 1 ? `<br>folds in: ${esc(n.members.map(m => m.op).join(", "))}` : "");
  }
  function cellTip(r, c, m) {
    const s = m.find(n => stateOf.has(n.id));
    const ops = [...new Set(m.filter(n => n.kind === "op").map(n => n.op))].join(", ");
    return `<b>${esc(rowName(r))}, ${esc(c.replace("t", "t="))}</b> (click to expand)<br>${m.length} nodes: ${esc(ops)}` +
      (s && s.grad ? `<br>‖∂L/∂${esc(s.name)}‖ = ${sci(s.grad[0])}` : "");
  }
  const tip = document.getElementById("tip");
  function showTip(ev, text) {
    tip.innerHTML = text; tip.style.display = "block";
    tip.style.left = (ev.pageX + 14) + "px"; tip.style.top = (ev.pageY + 10) + "px";
  }
  function hideTip() { tip.style.display = "none"; }

  // ---- controls ----------------------------------------------------------------------------
  function toggle(c) {
    const set = (c === "pre" || c === "post" || state.view !== "collapsed") ? state.closed : state.open;
    if (set.has(c)) set.delete(c); else set.add(c);
    draw();
  }
  function setView(v) {
    state.view = v; state.open.clear(); state.closed.clear();
    cells = v === "block" ? cellsBlock : cellsOps;
    shown = v === "block" ? [...params.map(p => byId.get(p.id)), ...blockNodes] : nodes;
    if (v === "collapsed") { state.closed.add("pre"); state.closed.add("post"); }
    document.querySelectorAll("#bar [data-view]").forEach(b => b.classList.toggle("on", b.dataset.view === v));
    draw();
  }
  function setK(k) { state.k = Math.max(0, Math.min(L, k)); paint(); }
  const slider = document.getElementById("slider");
  slider.max = L;
  slider.oninput = () => setK(+slider.value);
  document.querySelectorAll("#bar [data-view]").forEach(b => { b.onclick = () => setView(b.dataset.view); });
  const playButton = document.getElementById("play");
  playButton.onclick = () => {
    if (timer) { clearInterval(timer); timer = null; playButton.textContent = "▶ play backward"; return; }
    if (state.k >= L) setK(0);
    const stride = Math.max(1, Math.ceil(L / 400));  // the whole pass in about 10 s
    playButton.textContent = "⏸ pause";
    timer = setInterval(() => { setK(state.k + stride); if (state.k >= L) playButton.onclick(); }, 25);
  };
  function exportSVG() {
    const s = document.getElementById("graph").cloneNode(true);
    const style = document.createElementNS(SVGNS, "style");
    style.textContent = document.querySelector("style").textContent;
    s.insertBefore(style, s.firstChild);
    return new XMLSerializer().serializeToString(s);
  }
  document.getElementById("export").onclick = () => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([exportSVG()], {type: "image/svg+xml"}));
    a.download = "graph-" + state.view + ".svg";
    a.click();
  };
  window.explorer = {setView, setK, toggle, exportSVG, state, params, L};
  // #view=collapsed&open=t3,t4&k=120 opens the page in that state (screenshots, links)
  const hash = new URLSearchParams(location.hash.slice(1));
  setView(hash.get("view") || state.view);
  for (const c of (hash.get("open") || "").split(",").filter(Boolean)) toggle(c);
  if (hash.has("k")) setK(+hash.get("k"));
  window.__ready = performance.now();
  // after load, so that anything the page tried to fetch has been reported (blocked) by then
  if (hash.has("selftest")) addEventListener("load", () => setTimeout(selfTest, 100));

  // ---- a self-test the browser test reads back from the page ----------------------------------
  function selfTest() {
    const out = {}, ev = (e, type) => e.dispatchEvent(new MouseEvent(type, {bubbles: true, clientX: 50, clientY: 50}));
    try {
      out.views = {};
      for (const v of ["block", "unrolled", "rolled", "collapsed"]) {
        document.querySelector(`#bar [data-view="${v}"]`).click();
        out.views[v] = {nodes: document.querySelectorAll("#graph .node").length,
                        cells: document.querySelectorAll("#graph .cell").length,
                        loops: document.querySelectorAll("#graph .edge.loop").length,
                        title: document.querySelector("#graph text").textContent};
      }
      if (D.steps.length) {  // a graph without time steps (a tree) has nothing to expand
        const t = "t" + D.steps[D.steps.length - 1], stepSel = `#graph .node[data-step="${D.steps[D.steps.length - 1]}"]`;
        out.expand = {before: document.querySelectorAll(stepSel).length};
        ev(document.querySelector(`#graph .cell[data-cell="${t}"]`), "click");
        out.expand.after = document.querySelectorAll(stepSel).length;
        out.expand.ops = [...new Set([...document.querySelectorAll(stepSel)].map(g => byId.get(+g.dataset.id).op))];
        ev(document.querySelector(`#graph .colhead[data-col="${t}"]`), "click");
        out.expand.folded = document.querySelectorAll(stepSel).length;
        ev(document.querySelector(`#graph .cell[data-cell="${t}"]`), "click");
      }
      const last = D.steps[D.steps.length - 1];
      const h = document.querySelector(`#graph .node[data-name="h_t"][data-step="${last}"]`) ||
                document.querySelector(`#graph .node[data-step="${last}"]`) || document.querySelector("#graph .node");
      ev(h, "mouseover");
      out.hover = {id: +h.dataset.id, tip: tip.textContent, shown: tip.style.display};
      setK(0);
      out.start = [...document.querySelectorAll("#params .param")].map(d => d.textContent);
      slider.value = L; slider.dispatchEvent(new Event("input"));
      out.end = [...document.querySelectorAll("#params .param")].map(d => d.textContent);
      out.bars = document.querySelectorAll("#states rect").length;
      out.svg = exportSVG().slice(0, 200);
      out.resources = performance.getEntriesByType("resource").map(r => r.name);
      out.ready = Math.round(window.__ready);
      out.ms = Math.round(performance.now());
    } catch (e) { out.error = String(e && e.stack || e); }
    out.errors = window.__errors || [];
    document.getElementById("selftest-result").textContent = JSON.stringify(out);
  }
})();
