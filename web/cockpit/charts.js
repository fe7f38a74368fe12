// ECharts panels: the closed-loop gauge and the 24 h trend charts.
// Each chart owns its DOM node and resizes with it.

import * as echarts from "echarts";
import { language, t } from "./i18n.js";

const TEXT = "#c9d6ea";
const AXIS = "#2a3a55";
const PALETTE = ["#4fb3ff", "#ffb020", "#3ee6a0", "#ff5b6e", "#b48cff", "#5de0ff", "#f2c200", "#ff8ad8"];

function chart(node, onResize = () => {}) {
  const c = echarts.init(node, null, { renderer: "canvas" });
  new ResizeObserver(() => {
    c.resize();
    onResize();
  }).observe(node);
  return c;
}

function hourLabel(date) {
  return `${String(date.getHours()).padStart(2, "0")}:00`;
}

export class Charts {
  constructor({ gauge, trendLeft, trendRight }) {
    this.gauge = chart(gauge, () => this.setClosedLoop(this.today, this.days30));
    this.left = chart(trendLeft);
    this.right = chart(trendRight);
    this.lastGauge = null;
  }

  /** Closed-loop rate today and over 30 days, as two dials of one gauge. */
  setClosedLoop(today, days30) {
    this.today = today;
    this.days30 = days30;
    const node = this.gauge.getDom();
    const key = `${today}|${days30}|${language()}|${node.clientWidth}x${node.clientHeight}`;
    if (key === this.lastGauge) return;
    this.lastGauge = key;
    // Two dials side by side: each as large as half the width and the height allow.
    const radius = Math.max(20, Math.min(node.clientWidth / 4, node.clientHeight / 2) * 0.9);
    const dial = (name, value, center, color) => ({
      type: "gauge",
      center,
      radius,
      startAngle: 210,
      endAngle: -30,
      min: 0,
      max: 100,
      progress: { show: true, width: 10, itemStyle: { color } },
      axisLine: { lineStyle: { width: 10, color: [[1, AXIS]] } },
      axisTick: { show: false },
      splitLine: { show: false },
      axisLabel: { show: false },
      pointer: { show: false },
      anchor: { show: false },
      title: { offsetCenter: [0, "62%"], color: TEXT, fontSize: 13 },
      detail: {
        offsetCenter: [0, "5%"],
        fontSize: 22,
        color: "#fff",
        formatter: (v) => (Number.isFinite(value) ? `${v.toFixed(1)}%` : "–"),
      },
      data: [{ name, value: Number.isFinite(value) ? value * 100 : 0 }],
    });
    this.gauge.setOption(
      {
        animation: false,
        series: [
          dial(t("kpi.today"), today, ["27%", "55%"], "#3ee6a0"),
          dial(t("kpi.d30"), days30, ["73%", "55%"], "#4fb3ff"),
        ],
      },
      true,
    );
  }

  /** Hourly counts: {labels: Date[], series: [{name, counts, type}]}. */
  setHourly(target, title, { labels, series }) {
    this[target].setOption(
      {
        animation: false,
        title: { text: title, left: 8, top: 4, textStyle: { color: TEXT, fontSize: 13, fontWeight: "normal" } },
        color: PALETTE,
        grid: { left: 40, right: 16, top: 40, bottom: 28 },
        legend: { top: 4, right: 8, textStyle: { color: TEXT } },
        tooltip: { trigger: "axis" },
        xAxis: {
          type: "category",
          data: labels.map(hourLabel),
          axisLine: { lineStyle: { color: AXIS } },
          axisLabel: { color: TEXT },
        },
        yAxis: {
          type: "value",
          minInterval: 1,
          splitLine: { lineStyle: { color: AXIS } },
          axisLabel: { color: TEXT },
        },
        series: series.map((s) => ({ name: s.name, type: s.type ?? "bar", data: s.counts })),
      },
      true,
    );
  }

  /**
   * Bars per category: {title, categories, series: [{name, values, color}],
   * stacked, max, counts}. Values above each bar when there is one series.
   */
  setBars(target, { title, categories, series, stacked = false, max, counts = false }) {
    this[target].setOption(
      {
        animation: false,
        title: { text: title, left: 8, top: 4, textStyle: { color: TEXT, fontSize: 13, fontWeight: "normal" } },
        color: PALETTE,
        grid: { left: 48, right: 16, top: 40, bottom: 28 },
        legend: series.length > 1 ? { type: "scroll", top: 4, right: 8, width: "50%", textStyle: { color: TEXT } } : undefined,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: {
          type: "category",
          data: categories,
          axisLine: { lineStyle: { color: AXIS } },
          axisLabel: { color: TEXT, interval: 0, hideOverlap: true },
        },
        yAxis: { type: "value", max, minInterval: counts ? 1 : undefined, splitLine: { lineStyle: { color: AXIS } }, axisLabel: { color: TEXT } },
        series: series.map((s) => ({
          name: s.name,
          type: "bar",
          stack: stacked ? "total" : undefined,
          barMaxWidth: 36,
          itemStyle: s.color ? { color: s.color } : undefined,
          label: series.length === 1 ? { show: true, position: "top", color: TEXT, formatter: s.format } : undefined,
          data: s.values,
        })),
      },
      true,
    );
  }

  /** An empty chart saying there is nothing to show (endpoint missing or no data). */
  setEmpty(target, title, text = t("trend.unavailable")) {
    this[target].setOption(
      {
        title: [
          { text: title, left: 8, top: 4, textStyle: { color: TEXT, fontSize: 13, fontWeight: "normal" } },
          {
            text,
            left: "center",
            top: "middle",
            textStyle: { color: "#5d6f8c", fontSize: 14, fontWeight: "normal" },
          },
        ],
        series: [],
      },
      true,
    );
  }
}
