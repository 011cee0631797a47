import { dayChart } from './charts.ts';
import { pageData } from './page.ts';

/** The statistics page: views, downloads and searches per day as a chart (the tables are the server's). */
interface StatsPageData {
  days: Array<{ day: string; views: number; downloads: number; searches: number }>;
  labels: { views: string; downloads: string; searches: string; chart: string };
}

export function start(): void {
  const data = pageData<StatsPageData>();
  const container = document.getElementById('views-chart');
  if (!data || !container) return;
  const days = data.days.map((d) => d.day);
  dayChart(
    container,
    days,
    [
      { label: data.labels.views, values: data.days.map((d) => d.views), colour: '#2f5d9e' },
      { label: data.labels.downloads, values: data.days.map((d) => d.downloads), colour: '#1e7e34' },
      { label: data.labels.searches, values: data.days.map((d) => d.searches), colour: '#a05a00' },
    ],
    data.labels.chart,
  );
  container.dataset.drawn = 'true';
}
