export { renderChartSvg, runningBest, chartRows, niceTicks, CHART_COLORS, type ChartOptions } from './chart.js';
export { renderReportHtml, rankKept, decisionRule, type ReportOptions, type KeptChange } from './html.js';
export { writeReport, renderPng, reportDir, CHROMIUM, type WrittenReport } from './write.js';
export { esc } from './escape.js';
