import { dayChart } from './charts.ts';
import { pageData } from './page.ts';

/** The statistics page: views, downloads and searches per day as a chart (the tables are the server's). */
interface StatsPageData {
  from: string;
  to: string;
  days: Array<{ day: string; views: number; downloads: number; searches: number }>;
  labels: { views: string; downloads: string; searches: string; chart: string; day: string };
}

export function start(): void {
  const data = pageData<StatsPageData>();
  const container = document.getElementById('views-chart');
  if (!data || !container) return;
  // Every day of the period: the report lists only days with use.
  const byDay = new Map(data.days.map((d) => [d.day, d]));
  const days: string[] = [];
  for (let t = Date.parse(`${data.from}T00:00:00Z`), end = Date.parse(`${data.to}T00:00:00Z`); t <= end && days.length <= 366; t += 86_400_000) {
    days.push(new Date(t).toISOString().slice(0, 10));
  }
  const of = (key: 'views' | 'downloads' | 'searches') => days.map((d) => byDay.get(d)?.[key] ?? 0);
  dayChart(
    container,
    days,
    [
      { label: data.labels.views, values: of('views'), colour: '#2f5d9e' },
      { label: data.labels.downloads, values: of('downloads'), colour: '#1e7e34' },
      { label: data.labels.searches, values: of('searches'), colour: '#a05a00' },
    ],
    data.labels.chart,
    data.labels.day,
  );
  container.dataset.drawn = 'true';
}
