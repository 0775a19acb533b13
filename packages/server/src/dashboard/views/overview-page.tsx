import type { Overview } from '../dashboard.service.js';
import { BASE } from '../session.js';
import { ChartFigure, CountTable, DownloadsHidden, DownloadsScope, formatCount, formatShare, OrganizationPicker, Section, Stats } from './components.js';
import { Layout, type Session } from './layout.js';

export function OverviewPage(props: { session: Session; data: Overview; organizations: string[]; organization: string | undefined }) {
  const { data, session } = props;
  const d = data.devices;
  return (
    <Layout title="Overview" session={session} section="overview" charts>
      <h1>Overview</h1>
      <OrganizationPicker action={BASE} organizations={props.organizations} selected={props.organization} limitedTo={session.principal.organizationName} />

      <Section id="devices" title="Devices">
        <Stats
          items={[
            { id: 'devices', term: 'Registered', value: d.devices },
            { id: 'active24h', term: 'Active in the last 24 h', value: d.active24h, detail: formatShare(d.active24h, d.devices) },
            { id: 'active30d', term: 'Active in the last 30 days', value: d.active30d, detail: formatShare(d.active30d, d.devices) },
            { id: 'stopped', term: 'Stopped syncing', value: d.stopped, detail: formatShare(d.stopped, d.devices) },
            // Implausible use: transactions refused by the per-device daily limit (ds report devices --daily-limited --by device lists them).
            { id: 'dailyLimited', term: 'Reached the daily transaction limit (30 days)', value: d.dailyLimited, detail: formatShare(d.dailyLimited, d.devices) },
          ]}
        />
      </Section>

      <Section id="versions" title="Versions in use">
        <Stats
          items={[
            {
              id: 'onLatest',
              term: data.latestVersion ? `On the latest version (${data.latestVersion})` : 'On the latest version',
              value: data.onLatest,
              detail: formatShare(data.onLatest, d.devices),
            },
            { id: 'notAllowed', term: 'On versions no longer allowed', value: d.notAllowed, detail: formatShare(d.notAllowed, d.devices) },
          ]}
        />
        <ChartFigure
          id="chart-versions"
          title="Devices by version"
          data={{ type: 'doughnut', labels: data.versions.map((v) => v.version), datasets: [{ label: 'Devices', data: data.versions.map((v) => v.devices) }] }}
          table={
            <table>
              <caption class="visually-hidden">Devices by version</caption>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col" class="num">
                    Devices
                  </th>
                  <th scope="col" class="num">
                    Share
                  </th>
                  <th scope="col">Note</th>
                </tr>
              </thead>
              <tbody>
                {data.versions.length === 0 ? (
                  <tr>
                    <td colspan={4}>No devices yet</td>
                  </tr>
                ) : (
                  data.versions.map((v) => (
                    <tr data-version={v.version}>
                      <th scope="row">{v.version}</th>
                      <td class="num" data-value={v.devices}>
                        {formatCount(v.devices)}
                      </td>
                      <td class="num">{formatShare(v.devices, d.devices)}</td>
                      <td>{[v.latest ? 'latest' : '', v.allowed ? '' : 'no longer allowed'].filter(Boolean).join(', ')}</td>
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          }
        />
      </Section>

      <Section id="activity" title="Transactions and downloads">
        <Stats
          items={[
            { id: 'transactionsThisMonth', term: `Transactions this month (${data.currentMonth})`, value: data.transactionsThisMonth },
            { id: 'transactionsLastMonth', term: `Transactions last month (${data.previousMonth})`, value: data.transactionsLastMonth },
            ...(data.downloadsThisMonth !== null ? [{ id: 'downloadsThisMonth', term: `Installer downloads this month (${data.currentMonth})`, value: data.downloadsThisMonth }] : []),
          ]}
        />
        {data.downloadsThisMonth === null ? <DownloadsHidden /> : <DownloadsScope organization={props.organization} />}
        <ChartFigure
          id="chart-transactions"
          title="Transactions per month"
          data={{ type: 'bar', labels: data.transactionsByMonth.map((m) => m.month), datasets: [{ label: 'Transactions', data: data.transactionsByMonth.map((m) => m.transactions) }] }}
          table={
            <CountTable
              caption="Transactions per month"
              keyHeader="Month"
              countHeader="Transactions"
              share={false}
              // Newest month first, as the transactions page's tables (the chart keeps time along its axis).
              rows={data.transactionsByMonth.map((m) => ({ key: m.month === data.currentMonth ? `${m.month} (so far)` : m.month, count: m.transactions })).reverse()}
            />
          }
        />
        <p>
          <a href={`${BASE}/transactions${props.organization ? `?organization=${encodeURIComponent(props.organization)}` : ''}`}>Transactions over time</a>
        </p>
      </Section>
    </Layout>
  );
}
