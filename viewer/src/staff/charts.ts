import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/**
 * Charts of the staff workspace, drawn by uPlot (small, maintained, canvas): one line per
 * series over days. Sized to its container and redrawn when that changes width.
 */
export interface DaySeries {
  label: string;
  values: number[];
  colour: string;
}

const dayStart = (day: string): number => Date.parse(`${day}T00:00:00Z`) / 1000;

export function dayChart(container: HTMLElement, days: string[], series: DaySeries[], title: string, dayLabel: string): uPlot {
  const width = () => Math.max(320, container.clientWidth || 640);
  const chart = new uPlot(
    {
      title,
      width: width(),
      height: 280,
      // Days are UTC: so are the axis labels.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      series: [{ label: dayLabel }, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 2, points: { show: days.length <= 62 } }))],
      axes: [{}, { size: 50 }],
    },
    [days.map(dayStart), ...series.map((s) => s.values)],
    container,
  );
  const resize = new ResizeObserver(() => chart.setSize({ width: width(), height: 280 }));
  resize.observe(container);
  return chart;
}
