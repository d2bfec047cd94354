"""The status page's stylesheet and script, inline: the page fetches nothing from anywhere else.

A daemon on a desk's loopback or behind a VPN may have no route to a CDN, and a page that waits
on one shows nothing at the moment it is needed. Both are small enough to send with every page.

The script re-fetches the page body every 2 s (server-rendered HTML: one formatter for the page
and the terminal), keeps open the sections a person opened, and ticks the figures' age every
second. When the daemon stops answering or its figures grow old, a red banner says so: numbers
frozen on a screen must never read as all clear.
"""

from __future__ import annotations

__all__ = ["CSS", "SCRIPT"]

CSS = """
:root{--bg:#0e1116;--card:#161b22;--line:#262d37;--fg:#e6edf3;--muted:#8b949e;--crit:#ff5d5d;
--warn:#f2b53a;--info:#58a6ff;--ok:#3fb950;--page:#ff3bd4}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.4 system-ui,-apple-system,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif}
header{position:sticky;top:0;z-index:2;display:flex;align-items:center;gap:.6rem;padding:.6rem 1rem;
background:#0b0e13ee;border-bottom:1px solid var(--line);backdrop-filter:blur(6px)}
header h1{font-size:1rem;margin:0;font-weight:600;letter-spacing:.02em}
header .tick{color:var(--muted);font-size:.85rem;margin-left:auto;text-align:right}
.dot{width:.6rem;height:.6rem;border-radius:50%;background:var(--ok);box-shadow:0 0 6px var(--ok)}
.dot.down{background:var(--crit);box-shadow:0 0 6px var(--crit)}
main{max-width:1440px;margin:0 auto;padding:.8rem 1rem 3rem}
#banner{display:none;margin:.8rem 1rem 0;padding:.6rem .8rem;border-radius:6px;background:#3d1214;
border:1px solid var(--crit);color:#ffd7d7;font-weight:600}
#banner.on{display:block}
.chips{display:flex;flex-wrap:wrap;gap:.4rem;margin:.2rem 0 .6rem}
.chip{padding:.2rem .6rem;border-radius:999px;background:var(--card);border:1px solid var(--line);
font-size:.85rem;white-space:nowrap}
.chip.critical,.chip.page{border-color:var(--crit);color:var(--crit)}
.chip.warning{border-color:var(--warn);color:var(--warn)}
.chip.info{border-color:var(--info);color:var(--info)}
.chip.ok{border-color:var(--ok);color:var(--ok)}
section{margin:1.1rem 0}
h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:0 0 .4rem;
font-weight:600}
h2 small{text-transform:none;letter-spacing:0;font-weight:400}
.empty,.more,.intro{color:var(--muted);margin:.3rem 0}
.intro{color:var(--warn)}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);
border-radius:8px;overflow:hidden;font-size:.93em}
th,td{padding:.4rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
th{text-align:left;color:var(--muted);font-weight:500;font-size:.78rem;background:#11161d;white-space:normal;
vertical-align:bottom}
th.dup,td.dup{display:none!important}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:last-child td{border-bottom:0}
tr.sev-warning td:first-child{box-shadow:inset 3px 0 var(--warn)}
tr.sev-critical td:first-child,tr.sev-page td:first-child{box-shadow:inset 3px 0 var(--crit)}
tr.sev-info td:first-child{box-shadow:inset 3px 0 var(--info)}
td.na{color:var(--warn);text-decoration:underline dotted;cursor:help}
td.stale{color:var(--muted);font-style:italic;text-decoration:underline dotted;cursor:help}
td.good{color:var(--ok)}td.bad{color:var(--crit);font-weight:600}
td.key{font-weight:600}
details>summary{cursor:pointer;color:var(--muted);padding:.45rem .7rem;background:var(--card);
border:1px solid var(--line);border-radius:8px;list-style-position:inside}
details[open]>summary{margin-bottom:.4rem}
ul.alerts+details{margin-top:.4rem}
.sub{color:var(--muted)}
ul.alerts{list-style:none;margin:0;padding:0;display:grid;gap:.4rem}
ul.alerts li{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--info);
border-radius:6px;padding:.45rem .7rem}
ul.alerts li.sev-warning{border-left-color:var(--warn)}
ul.alerts li.sev-critical,ul.alerts li.sev-page{border-left-color:var(--crit)}
ul.alerts li.resolved{border-left-color:var(--ok);opacity:.85}
.badge{display:inline-block;font-size:.7rem;font-weight:700;text-transform:uppercase;padding:.05rem .4rem;
border-radius:4px;background:var(--line);margin-right:.3rem}
.sev-critical .badge,.sev-page .badge{background:var(--crit);color:#1a0000}
.sev-warning .badge{background:var(--warn);color:#1a1000}
.resolved .badge{background:var(--ok);color:#001a05}
td.g{min-width:9.5rem}
.gauge{display:grid;gap:.2rem}
.gauge .track{position:relative;display:block;height:.75rem;border-radius:3px;background:#07090d;
border:1px solid var(--line)}
.gauge .fill{display:block;height:100%;border-radius:2px;background:var(--ok)}
.gauge .lv{position:absolute;top:-4px;bottom:-4px;width:2px;margin-left:-1px;background:var(--fg);
box-shadow:0 0 0 1px var(--bg)}
.gauge .lv-warning{background:var(--warn)}.gauge .lv-critical,.gauge .lv-page{background:var(--crit)}
.gauge .cap{font-variant-numeric:tabular-nums;white-space:nowrap;font-size:.85rem;justify-self:start}
.st-warning .fill{background:var(--warn)}.st-warning .cap{color:var(--warn);font-weight:600}
.st-critical .fill,.st-page .fill,.st-past_liquidation .fill{background:var(--crit)}
.st-critical .cap,.st-page .cap{color:var(--crit);font-weight:700}
.st-info .fill,.st-unrated .fill{background:var(--info)}
.st-past_liquidation .track{border-color:var(--crit)}
.st-past_liquidation .cap{color:#fff;background:var(--crit);padding:0 .35rem;border-radius:3px;
font-weight:700}
.st-unknown .fill{background:repeating-linear-gradient(135deg,#6e7681 0 5px,#30363d 5px 10px)}
.st-unknown .cap{color:var(--warn);font-style:italic}
.gauge.stale .track{opacity:.55}.gauge.stale .cap{font-style:italic}
.st-not_liquidatable .fill{background:#2d5a3a}.st-not_liquidatable .cap{color:var(--muted)}
.alerts .labels{color:var(--muted)}
.alerts .when{float:right;color:var(--muted);font-size:.8rem}
.alerts .what{margin-top:.15rem;overflow-wrap:anywhere}
@media (max-width:700px){
 main{padding:.6rem .6rem 3rem}
 table,thead,tbody,tr,td{display:block;border:0;background:none}
 thead{display:none}
 tbody{display:grid;gap:.5rem}
 tr{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.45rem .7rem;
 display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);column-gap:.8rem}
 tr.sev-warning{border-left:4px solid var(--warn)}
 tr.sev-critical,tr.sev-page{border-left:4px solid var(--crit)}
 tr.sev-info{border-left:4px solid var(--info)}
 tr td:first-child{box-shadow:none!important}
 td{padding:.12rem 0;white-space:normal}
 td.h{grid-column:1/-1;font-weight:600}
 td.h+td.h{font-weight:400;color:var(--muted);margin-top:-.1rem;margin-bottom:.2rem}
 td.n{display:flex;flex-wrap:wrap;justify-content:flex-end;column-gap:.5rem;text-align:right}
 td.n::before{margin-right:auto}
 td.n::before{content:attr(data-label);color:var(--muted);text-align:left}
 td.wide{display:none}
 td.n::before{font-size:.9em}
 td.g{grid-column:1/-1;min-width:0;padding:.2rem 0 .3rem}
 table.compact tbody{gap:.25rem}
 table.compact tr{display:flex;flex-wrap:wrap;align-items:baseline;gap:0 .6rem;padding:.35rem .7rem}
 table.compact td.h{font-weight:400}
 table.compact td.h:first-child{flex:1 1 auto}
 table.compact td.h+td.h{margin:0;color:var(--fg)}
 table.compact td.h+td.h.bad{color:var(--crit)}
 table.compact td.n{display:block;color:var(--muted)}
 table.compact td.n::before{content:none}
 .alerts .when{float:none;display:block}
}
"""

SCRIPT = """
(function(){
  var live=document.getElementById('live'),banner=document.getElementById('banner'),
      dot=document.getElementById('dot'),ageEl=document.getElementById('age');
  var staleAfter=parseFloat(document.body.getAttribute('data-stale-after'))||10;
  var got=performance.now(),failed=false;
  var bodyUrl=location.pathname.replace(/\\/$/,'')+'/body'+location.search;
  function dur(s){
    if(s<10)return s.toFixed(1)+' s';if(s<60)return Math.round(s)+' s';
    if(s<3600)return Math.floor(s/60)+' min '+String(Math.floor(s%60)).padStart(2,'0')+' s';
    return Math.floor(s/3600)+' h '+String(Math.floor(s%3600/60)).padStart(2,'0')+' min';
  }
  function paint(){
    var s=live.querySelector('[data-taken]');var taken=s?+s.getAttribute('data-taken'):0;
    var served=s?+s.getAttribute('data-served'):0;
    var since=(performance.now()-got)/1000;
    var age=taken?(served-taken)/1e9+since:NaN;
    if(ageEl)ageEl.textContent=taken?dur(age)+' old':'no tick yet';
    var msg='';
    if(failed)msg='The daemon does not answer (last answer '+dur(since)+' ago): '+
      'the numbers below are frozen.';
    else if(taken&&age>staleAfter)msg='The figures are '+dur(age)+' old: the evaluation loop has stalled.';
    banner.textContent=msg;banner.className=msg?'on':'';dot.className=msg?'dot down':'dot';
  }
  function poll(){
    if(document.hidden)return;
    fetch(bodyUrl,{cache:'no-store'}).then(function(r){
      if(!r.ok)throw new Error('HTTP '+r.status);return r.text();
    }).then(function(html){
      var open=[].map.call(live.querySelectorAll('details[open][id]'),function(d){return d.id;});
      live.innerHTML=html;got=performance.now();failed=false;
      open.forEach(function(id){var d=document.getElementById(id);if(d)d.open=true;});paint();
    })
      .catch(function(){failed=true;paint();});
  }
  setInterval(poll,2000);setInterval(paint,1000);
  document.addEventListener('visibilitychange',poll);paint();
})();
"""
