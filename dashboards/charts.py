"""Plotly figures for the dashboards, built in Python with plotly.graph_objects and embedded as JSON.

Every figure has a title, axis titles with units and hover text; points carry customdata URLs of the list behind
them (static/js/app.js opens them on click).
"""

import datetime as dt
import html

import plotly.graph_objects as go
from django.utils import timezone
from django.utils.safestring import mark_safe

SEVERITY_COLORS = {
    "blocker": "#7a0f0f",
    "critical": "#d92d20",
    "major": "#f79009",
    "minor": "#84adff",
    "trivial": "#c0c6d0",
}
BAND_COLORS = {
    "low": "#1f7a3a",
    "medium": "#a86400",
    "high": "#b42318",
    "critical": "#7a0f0f",
    None: "#6b7280",
}
LAYOUT = {
    "template": "none",
    "font": {
        "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
        "size": 12,
        "color": "#1d2430",
    },
    "margin": {"l": 60, "r": 20, "t": 50, "b": 100},
    "height": 360,
    "hovermode": "closest",
    "legend": {"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom", "x": 0},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
}
AXIS = {"gridcolor": "#eef1f5", "zeroline": False, "automargin": True}


def to_json(fig: go.Figure) -> str:
    """The figure as JSON safe to place inside a <script type="application/json"> element."""
    raw = fig.to_json()
    return mark_safe(raw.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def plain(text) -> str:
    """User-provided text (run names, versions) for Plotly labels and hover text: Plotly renders a subset of HTML
    there (<b>, <a href>, <br>...), so it is escaped; Plotly shows the entities as the characters themselves."""
    return html.escape(str(text), quote=False)


def _layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, **extra) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 15}}, **{**LAYOUT, **extra})
    fig.update_xaxes(title_text=x_title, **AXIS)
    fig.update_yaxes(title_text=y_title, **AXIS)
    return fig


def _widen_single_date(fig: go.Figure, xs, *, days: int) -> None:
    """Give a date axis with fewer than two distinct x values a range of +- `days` days around its only day
    (or today when it has none): left alone, Plotly zooms such an axis to milliseconds (ticks such as
    23:59:59.999, or around 1970 when empty)."""
    distinct = {str(x)[:10] for x in xs if x}
    if len(distinct) > 1:
        return
    day = dt.date.fromisoformat(distinct.pop()) if distinct else timezone.now().date()
    fig.update_xaxes(
        range=[(day - dt.timedelta(days=days)).isoformat(), (day + dt.timedelta(days=days)).isoformat()],
        type="date",
    )


def defect_flow_figure(buckets: list[dict], *, list_url: str, bucket: str = "day") -> go.Figure:
    """Opened / closed / reopened per bucket as bars, open backlog as a line."""
    x = [b["bucket"] for b in buckets]
    fig = go.Figure()
    for field, label, color, sign in (
        ("opened", "Opened", "#d92d20", 1),
        ("closed", "Closed", "#12b76a", -1),
        ("reopened", "Reopened", "#f79009", 1),
    ):
        fig.add_bar(
            x=x,
            y=[sign * b[field] for b in buckets],
            name=label,
            marker_color=color,
            customdata=[[list_url]] * len(x),
            hovertemplate=f"%{{x}}<br>{label}: %{{text}} defects<extra></extra>",
            text=[b[field] for b in buckets],
            textposition="none",
        )
    fig.add_scatter(
        x=x,
        y=[b["backlog"] for b in buckets],
        name="Open backlog (end of bucket)",
        mode="lines+markers",
        line={"color": "#2357c6", "width": 2},
        customdata=[[f"{list_url}&status=open"]] * len(x),
        hovertemplate="%{x}<br>Open backlog: %{y} defects<extra></extra>",
    )
    per = "week" if bucket == "week" else "day"
    return _layout(
        fig,
        title=f"Defect flow per {per} (closed shown below zero)",
        x_title="Date (UTC)",
        y_title="Defects (count)",
        barmode="relative",
    )


def open_by_severity_figure(buckets: list[dict], *, list_url: str) -> go.Figure:
    """Open defects at the end of each day, stacked by severity; a click opens the open defects of that severity."""
    x = [b["bucket"] for b in buckets]
    fig = go.Figure()
    for severity, color in SEVERITY_COLORS.items():
        y = [b.get("backlog_by_severity", {}).get(severity, 0) for b in buckets]
        fig.add_scatter(
            x=x,
            y=y,
            name=severity.capitalize(),
            mode="lines",
            stackgroup="open",
            line={"color": color, "width": 1},
            customdata=[[f"{list_url}&status=open&severity={severity}"]] * len(x),
            hovertemplate=f"%{{x}}<br>{severity.capitalize()}: %{{y}} open<extra></extra>",
        )
    return _layout(
        fig, title="Open defects by severity over time", x_title="Date (UTC)", y_title="Open defects (count)"
    )


def pass_rate_per_run_figure(runs: list[dict], *, list_url: str) -> go.Figure:
    """Pass rate of each completed run, in run order."""
    fig = go.Figure()
    fig.add_scatter(
        x=[r["started_at"] for r in runs],
        y=[r["pass_rate"] for r in runs],
        mode="lines+markers",
        name="Pass rate",
        line={"color": "#12b76a"},
        customdata=[[r["url"] or list_url] for r in runs],
        text=[f"{plain(r['label'])}: {r['passed']} passed / {r['executed']} executed" for r in runs],
        hovertemplate="%{x|%Y-%m-%d %H:%M}<br>Pass rate: %{y:.1f}%<br>%{text}<extra></extra>",
    )
    fig.update_yaxes(range=[0, 102])
    _widen_single_date(fig, [r["started_at"] for r in runs], days=1)
    return _layout(fig, title="Test pass rate per run", x_title="Run start (UTC)", y_title="Pass rate (%)")


def series_figure(
    series: dict[str, list[dict]],
    *,
    title: str,
    y_title: str,
    list_url: str,
    labels: dict[str, str],
    percent: bool = False,
    markers: list[dict] | None = None,
) -> go.Figure:
    """One line per metric key from snapshot series [{"bucket", "value", "n"}]; n shown in the hover."""
    fig = go.Figure()
    palette = ["#2357c6", "#12b76a", "#f79009", "#d92d20", "#7a5af8"]
    for i, (key, points) in enumerate(series.items()):
        fig.add_scatter(
            x=[p["bucket"] for p in points],
            y=[p["value"] for p in points],
            name=labels.get(key, key),
            mode="lines+markers",
            line={"color": palette[i % len(palette)], "dash": "dot" if key in ("median", "p90") else "solid"},
            connectgaps=False,
            customdata=[[list_url]] * len(points),
            text=[f"n = {p['n']}" for p in points],
            hovertemplate=f"%{{x}}<br>{labels.get(key, key)}: %{{y}}{'%' if percent else ''}<br>%{{text}}<extra></extra>",
        )
    for marker in markers or []:
        fig.add_vline(x=marker["x"], line_dash="dot", line_color="#9aa4b2")
        fig.add_annotation(
            x=marker["x"],
            y=1,
            yref="paper",
            text=plain(marker["label"]),
            showarrow=False,
            font={"size": 10, "color": "#5f6b7a"},
            textangle=-90,
            xanchor="right",
            yanchor="top",
        )
    if percent:
        fig.update_yaxes(range=[0, 102])
    if not markers:  # release markers already give the axis its span
        _widen_single_date(fig, [p["bucket"] for points in series.values() for p in points], days=3)
    return _layout(fig, title=title, x_title="Date (UTC)", y_title=y_title)


def risk_by_release_figure(rows: list[dict]) -> go.Figure:
    """Risk score of each active release, coloured by band; a click opens the release dashboard."""
    fig = go.Figure()
    fig.add_bar(
        x=[r["risk"] if r["risk"] is not None else 0 for r in rows],
        y=[plain(f"{r['project_key']} {r['version']}") for r in rows],
        orientation="h",
        marker_color=[BAND_COLORS.get(r["band"]) for r in rows],
        customdata=[[r["dashboard_url"]] for r in rows],
        text=[r["band"] or "no data" for r in rows],
        hovertemplate="%{y}<br>Risk score: %{x:.1f} / 100 (%{text})<extra></extra>",
        name="Risk score",
    )
    fig.update_xaxes(range=[0, 100])
    fig.update_yaxes(autorange="reversed")
    return _layout(
        fig,
        title="Release risk score (0 = no risk, 100 = every indicator failing)",
        x_title="Risk score (0-100)",
        y_title="Release",
        height=max(260, 60 + 28 * len(rows)),
        showlegend=False,
    )


def calibration_figure(cal: dict) -> go.Figure:
    """Observed bad rate per risk band (calibration of the risk score), n on each bar. A band with fewer than
    the minimum n releases gets no bar, only its count: a rate from two releases would be a made-up figure."""
    bands = cal["bands"]
    labels = [
        f"{b['band']} (n={b['n']})" if b["enough"] else f"{b['band']} (n={b['n']}, too few)" for b in bands
    ]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[100.0 * b["rate"] if b["enough"] else None for b in bands],
        marker_color=[BAND_COLORS.get(b["band"]) for b in bands],
        text=[f"n={b['n']}, {b['bad']} bad" if b["enough"] else "" for b in bands],
        textposition="outside",
        hovertemplate="%{x}<br>Observed bad rate: %{y:.1f} %<extra></extra>",
        name="Observed bad rate",
    )
    fig.update_yaxes(range=[0, 110])
    return _layout(
        fig,
        title=f"Outcome by risk band: share of releases with a hotfix, incident or escaped defect within "
        f"{cal['window_days']} days",
        x_title="Risk band at release date (releases in the band)",
        y_title="Observed bad rate (%)",
        showlegend=False,
    )
