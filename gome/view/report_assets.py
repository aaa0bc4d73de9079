"""The report's inline stylesheet and script (no network: nothing is loaded from elsewhere)."""

from __future__ import annotations

__all__ = ["CSS", "JS"]

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d2b3a;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header .sub{color:#b9c6d3}nav{padding:6px 24px;background:#e8ecf1;position:sticky;top:0;z-index:2}
nav a{margin-right:14px;color:#1d4f80;text-decoration:none}main{padding:8px 24px 40px;max-width:1400px}
section{background:#fff;border:1px solid #dde3ea;border-radius:6px;margin:16px 0;padding:8px 16px 14px}
h2{font-size:17px;margin:8px 0 10px}table{border-collapse:collapse}td,th{padding:3px 10px;text-align:left;
border-bottom:1px solid #eef1f4;vertical-align:top}th{background:#f3f5f8}.num{text-align:right}
.charts{display:flex;flex-wrap:wrap;gap:12px}svg text{font-size:11px;fill:#333}svg .title{font-size:13px;
font-weight:600}svg .plot{fill:#fbfcfd;stroke:#ccd3db}svg .grid{stroke:#e6eaee}svg .line{fill:none;stroke-width:2}
svg .legend{font-size:11px}.scroll{overflow-x:auto}.graph .edge{fill:none;stroke:#8a96a3;stroke-width:1.5}
.graph .edge.cross{stroke:#d08a00;stroke-dasharray:5 3}.graph .node circle{stroke:#333;stroke-width:1}
.graph .accepted circle{fill:#3c9d4e}.graph .rejected circle{fill:#c9d1d9}.graph .failed circle{fill:#d9534f}
.graph circle.chosen{fill:none;stroke:#d4a106;stroke-width:3}.graph .lane{font-weight:600}
details{margin:4px 0}summary{cursor:pointer}details.trace>summary{font-weight:600;font-size:15px}
details.step{margin-left:14px;border-left:3px solid #dde3ea;padding-left:8px}
.msg{border:1px solid #e3e8ee;border-radius:5px;margin:6px 0;padding:6px 10px;background:#fcfdfe}
.msg .who{font-weight:600}.msg .kind{color:#6b4fa0;margin-left:8px}.tok{color:#7a8590;font-weight:400;
margin-left:8px}.ev{font-family:ui-monospace,Menlo,monospace;font-size:12px;color:#44505c;margin:3px 0}
.ev.bad,.bad{color:#b52b27}.ok{color:#23803a}dl{margin:4px 0;display:grid;grid-template-columns:110px 1fr;
gap:2px 8px}dt{color:#6b7680}dd{margin:0}dd ul{margin:0;padding-left:18px}pre{background:#f4f6f8;
padding:8px;overflow-x:auto;font-size:12px;margin:4px 0;white-space:pre-wrap}.diff .add{background:#e6ffec;
display:block}.diff .del{background:#ffebe9;display:block}.diff .hunk{color:#6b4fa0;display:block}
.hidden{display:none}.toolbar{margin:4px 0 8px}.toolbar button{margin-right:6px}.medal{font-weight:700}
.empty{color:#7a8590}.muted{color:#7a8590}body.focus section:not(#conversation){display:none}
"""

JS = """
(function(){
  function all(sel){return Array.prototype.slice.call(document.querySelectorAll(sel));}
  all('[data-act]').forEach(function(b){
    b.addEventListener('click',function(){
      var open=b.getAttribute('data-act')==='expand';
      all(b.getAttribute('data-target')).forEach(function(d){d.open=open;});
    });
  });
  all('input[data-agent]').forEach(function(box){
    box.addEventListener('change',function(){
      var a=box.getAttribute('data-agent');
      all('.msg[data-agent="'+a+'"]').forEach(function(m){m.classList.toggle('hidden',!box.checked);});
    });
  });
  if(location.hash==='#open-all'){  /* the conversation alone, every step open (for printing) */
    all('details.step').forEach(function(d){d.open=true;});
    document.body.classList.add('focus');
  }
  document.body.setAttribute('data-ready','1');
})();
"""
