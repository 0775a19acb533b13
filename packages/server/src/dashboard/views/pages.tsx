import type { DeviceReportRow, DownloadReportRow, TransactionReportQuery, TransactionReportRow } from '@ds/shared';
import type { Principal } from '../../users/principal.js';
import type { Demographics, FilterChoices, Overview, Split } from '../dashboard.service.js';
import { BASE } from '../session.js';
import { ChartFigure, CountTable, DownloadsHidden, formatCount, formatShare, OrganizationPicker, Stats } from './components.js';
import { Layout } from './layout.js';

type Session = { principal: Principal; csrf: string };

/** What the organization choice means for downloads, which belong to no organization. */
function DownloadsScope(props: { organization: string | undefined }) {
  return props.organization ? (
    <p class="hint">Downloads belong to no organization: they are shown for all of DS whatever organization is chosen.</p>
  ) : null;
}

export function OverviewPage(props: { session: Session; data: Overview; organizations: string[]; organization: string | undefined }) {
  const { data, session } = props;
  const d = data.devices;
  return (
    <Layout title="Overview" session={session} section="overview" charts>
      <h1>Overview</h1>
      <OrganizationPicker action={BASE} organizations={props.organizations} selected={props.organization} limitedTo={session.principal.organizationName} />

      <section aria-labelledby="devices-heading">
        <h2 id="devices-heading">Devices</h2>
        <Stats
          items={[
            { id: 'devices', term: 'Registered', value: d.devices },
            { id: 'active24h', term: 'Active in the last 24 h', value: d.active24h, detail: formatShare(d.active24h, d.devices) },
            { id: 'active30d', term: 'Active in the last 30 days', value: d.active30d, detail: formatShare(d.active30d, d.devices) },
            { id: 'stopped', term: 'Stopped syncing', value: d.stopped, detail: formatShare(d.stopped, d.devices) },
          ]}
        />
      </section>

      <section aria-labelledby="versions-heading">
        <h2 id="versions-heading">Versions in use</h2>
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
      </section>

      <section aria-labelledby="activity-heading">
        <h2 id="activity-heading">Transactions and downloads</h2>
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
              rows={data.transactionsByMonth.map((m) => ({ key: m.month === data.currentMonth ? `${m.month} (so far)` : m.month, count: m.transactions }))}
            />
          }
        />
        <p>
          <a href={`${BASE}/transactions${props.organization ? `?organization=${encodeURIComponent(props.organization)}` : ''}`}>Transactions over time</a>
        </p>
      </section>
    </Layout>
  );
}

const deviceRows = (rows: DeviceReportRow[], unknown: string) => rows.map((r) => ({ key: r.key ?? unknown, count: r.devices }));
const downloadRows = (rows: DownloadReportRow[], key: (r: DownloadReportRow) => string) => rows.map((r) => ({ key: key(r), count: r.downloads }));

function CountChart(props: { id: string; title: string; type: 'bar' | 'doughnut'; keyHeader: string; countHeader: string; rows: { key: string; count: number }[]; total?: number }) {
  return (
    <ChartFigure
      id={props.id}
      title={props.title}
      data={{ type: props.type, horizontal: props.type === 'bar', labels: props.rows.map((r) => r.key), datasets: [{ label: props.countHeader, data: props.rows.map((r) => r.count) }] }}
      table={<CountTable caption={props.title} keyHeader={props.keyHeader} countHeader={props.countHeader} rows={props.rows} {...(props.total !== undefined ? { total: props.total } : {})} />}
    />
  );
}

export function DemographicsPage(props: { session: Session; data: Demographics; organizations: string[]; organization: string | undefined }) {
  const { data } = props;
  return (
    <Layout title="Demographics" session={props.session} section="demographics" charts>
      <h1>Demographics</h1>
      <OrganizationPicker
        action={`${BASE}/demographics`}
        organizations={props.organizations}
        selected={props.organization}
        limitedTo={props.session.principal.organizationName}
      />
      <section aria-labelledby="devices-heading">
        <h2 id="devices-heading">Devices</h2>
        <p>
          {formatCount(props.data.total)} registered devices. A device that reported several browsers counts once under each, so the browser shares can add up to more
          than 100 %.
        </p>
        <div class="charts">
          <CountChart id="chart-os" title="Devices by operating system" type="doughnut" keyHeader="Operating system" countHeader="Devices" rows={deviceRows(data.byOs, '(unknown)')} total={props.data.total} />
          <CountChart id="chart-browser" title="Devices by browser" type="bar" keyHeader="Browser" countHeader="Devices" rows={deviceRows(data.byBrowser, '(none reported)')} total={props.data.total} />
          <CountChart id="chart-version" title="Devices by version" type="bar" keyHeader="Version" countHeader="Devices" rows={deviceRows(data.byVersion, '(unknown)')} total={props.data.total} />
          <CountChart id="chart-status" title="Devices by status" type="doughnut" keyHeader="Status" countHeader="Devices" rows={deviceRows(data.byStatus, '(unknown)')} total={props.data.total} />
        </div>
      </section>
      <section aria-labelledby="downloads-heading">
        <h2 id="downloads-heading">Installer downloads</h2>
        {data.downloads === null ? (
          <DownloadsHidden />
        ) : (
          <>
            <p>
              From {data.downloads.from} to {data.downloads.to}.
            </p>
            <DownloadsScope organization={props.organization} />
            <div class="charts">
              <CountChart id="chart-downloads-os" title="Downloads by operating system" type="doughnut" keyHeader="Operating system" countHeader="Downloads" rows={downloadRows(data.downloads.byOs, (r) => r.os ?? '(unknown)')} />
              <CountChart id="chart-downloads-browser" title="Downloads by browser" type="bar" keyHeader="Browser" countHeader="Downloads" rows={downloadRows(data.downloads.byBrowser, (r) => r.browser ?? '(unknown)')} />
            </div>
          </>
        )}
      </section>
    </Layout>
  );
}

const SPLIT_NAMES: Record<Split, string> = { organization: 'Organization', label: 'Label', module: 'Module', useCase: 'Use case' };

/** The text of a split dimension's value in a row. */
function splitValue(row: TransactionReportRow, split: Split): string {
  const value = row[split];
  if (split === 'organization' && value === null) return '(deleted label)';
  return value ?? '';
}

function Select(props: { id: string; label: string; all: string; options: string[]; selected: string | undefined; onlyChoice?: boolean }) {
  const options = props.selected && !props.options.includes(props.selected) ? [props.selected, ...props.options] : props.options;
  return (
    <p>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name={props.id}>
        {props.onlyChoice ? null : (
          <option value="" selected={!props.selected}>
            {props.all}
          </option>
        )}
        {options.map((o) => (
          <option value={o} selected={o === props.selected}>
            {o}
          </option>
        ))}
      </select>
    </p>
  );
}

/** A month picker; a day (only possible within the current month, typed into the URL) stays a text field. */
function PeriodInput(props: { name: 'from' | 'to'; value: string | undefined }) {
  const isDay = props.value !== undefined && props.value.length > 7;
  return (
    <>
      <label for={props.name}>{props.name === 'from' ? 'From' : 'To'} (month{isDay ? ' or day' : ''})</label>
      <input id={props.name} name={props.name} type={isDay ? 'text' : 'month'} value={props.value ?? ''} placeholder="YYYY-MM" />
    </>
  );
}

/** A (possibly stacked) bar chart's numbers as a table: a row per label, a column per series. */
function SeriesTable(props: {
  caption: string;
  keyHeader: string;
  labels: string[];
  series: { label: string; data: number[] }[];
  rowName?: (label: string) => string;
  /** Said in the table when there are no labels. */
  empty?: string;
}) {
  return (
    <table>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.keyHeader}</th>
          {props.series.map((s) => (
            <th scope="col" class="num">
              {s.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.labels.length === 0 && props.empty !== undefined ? (
          <tr>
            <td colspan={props.series.length + 1}>{props.empty}</td>
          </tr>
        ) : (
          props.labels.map((label, i) => (
            <tr>
              <th scope="row">{props.rowName ? props.rowName(label) : label}</th>
              {props.series.map((s) => (
                <td class="num">{formatCount(s.data[i] ?? 0)}</td>
              ))}
            </tr>
          ))
        )}
      </tbody>
    </table>
  );
}

export function TransactionsPage(props: {
  session: Session;
  query: TransactionReportQuery;
  split: Split | undefined;
  rows: TransactionReportRow[];
  choices: FilterChoices;
  currentMonth: string;
  months: string[];
  /** The days of the current month the period covers, up to today. */
  days: string[];
  csvUrl: string;
}) {
  const { query, rows, split, choices } = props;
  const limitedTo = props.session.principal.organizationName;
  const total = rows.reduce((s, r) => s + r.transactions, 0);
  const series = split ? [...new Set(rows.map((r) => splitValue(r, split)))].sort() : ['Transactions'];
  const seriesOf = (r: TransactionReportRow) => (split ? splitValue(r, split) : 'Transactions');
  const perMonth = series.map((name) => ({
    label: name,
    data: props.months.map((m) => rows.filter((r) => r.month === m && seriesOf(r) === name).reduce((s, r) => s + r.transactions, 0)),
  }));
  const days = props.days;
  const perDay = series.map((name) => ({
    label: name,
    data: days.map((d) => rows.filter((r) => r.day === d && seriesOf(r) === name).reduce((s, r) => s + r.transactions, 0)),
  }));
  const showsCurrentMonth = props.months.includes(props.currentMonth);
  return (
    <Layout title="Transactions" session={props.session} section="transactions" charts>
      <h1>Transactions</h1>
      <p>
        Counted per day in the current month ({props.currentMonth}) and per month before it: once a month has ended, DS keeps only its monthly totals.
      </p>
      <form class="filters" method="get" action={`${BASE}/transactions`}>
        <fieldset>
          <legend>Filters</legend>
          <div class="fields">
            <Select id="organization" label="Organization" all="All organizations" options={choices.organizations} selected={query.organization ?? limitedTo ?? undefined} onlyChoice={limitedTo !== null} />
            <Select id="label" label="Label" all="All labels" options={choices.labels} selected={query.label} />
            <Select id="module" label="Module" all="All modules" options={choices.modules} selected={query.module} />
            <Select id="useCase" label="Use case" all="All use cases" options={choices.useCases} selected={query.useCase} />
            <p>
              <PeriodInput name="from" value={query.from} />
            </p>
            <p>
              <PeriodInput name="to" value={query.to} />
            </p>
            <p>
              <label for="split">Break down by</label>
              <select id="split" name="split">
                <option value="" selected={!split}>
                  Nothing
                </option>
                {(Object.keys(SPLIT_NAMES) as Split[]).map((s) => (
                  <option value={s} selected={s === split}>
                    {SPLIT_NAMES[s]}
                  </option>
                ))}
              </select>
            </p>
          </div>
          <p class="actions">
            <button type="submit">Show</button> <a href={`${BASE}/transactions`}>Reset</a>
          </p>
        </fieldset>
      </form>

      <section aria-labelledby="result-heading">
        <h2 id="result-heading">
          {query.from === query.to ? query.from : `${query.from} to ${query.to}`}: <span data-stat="total" data-value={total}>{formatCount(total)}</span> transactions
        </h2>
        <p>
          <a class="button" href={props.csvUrl} download="">
            Download CSV
          </a>{' '}
          <span class="hint">exactly the rows of the table below, as <code>ds report transactions --csv</code> writes them</span>
        </p>
        <div class="charts">
          <ChartFigure
            id="chart-months"
            title="Transactions per month"
            data={{ type: 'bar', labels: props.months, datasets: perMonth, stacked: Boolean(split) }}
            table={
              <SeriesTable
                caption="Transactions per month"
                keyHeader="Month"
                labels={props.months}
                rowName={(m) => (m === props.currentMonth ? `${m} (so far)` : m)}
                series={perMonth}
              />
            }
          />
          {showsCurrentMonth ? (
            <ChartFigure
              id="chart-days"
              title={`Transactions per day in ${props.currentMonth}`}
              data={{ type: 'bar', labels: days, datasets: perDay, stacked: Boolean(split) }}
              table={
                <SeriesTable caption={`Transactions per day in ${props.currentMonth}`} keyHeader="Day" labels={days} series={perDay} empty="None yet" />
              }
            />
          ) : null}
        </div>

        <h3 id="rows-heading">Report rows</h3>
        <div class="table-box" role="region" aria-labelledby="rows-heading" tabindex={0}>
          <table id="transactions-table">
            <caption class="visually-hidden">Report rows: the content of the CSV download</caption>
            <thead>
              <tr>
                <th scope="col">Month</th>
                <th scope="col">Day</th>
                {split ? <th scope="col">{SPLIT_NAMES[split]}</th> : null}
                <th scope="col" class="num">
                  Transactions
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 ? (
                <tr>
                  <td colspan={split ? 4 : 3}>No transactions in this period</td>
                </tr>
              ) : (
                rows.map((r) => (
                  <tr>
                    <th scope="row">{r.month ?? ''}</th>
                    <td>{r.day ?? 'whole month'}</td>
                    {split ? <td>{splitValue(r, split)}</td> : null}
                    <td class="num" data-value={r.transactions}>
                      {formatCount(r.transactions)}
                    </td>
                  </tr>
                ))
              )}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row" colspan={split ? 3 : 2}>
                  Total
                </th>
                <td class="num">{formatCount(total)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      </section>
    </Layout>
  );
}
