import type { TransactionReportRow } from '@ds/shared';
import type { Split, Transactions } from '../dashboard.service.js';
import { BASE } from '../session.js';
import { ChartFigure, formatCount, Section, Select, SeriesTable } from './components.js';
import { Layout, type Session } from './layout.js';

const SPLIT_NAMES: Record<Split, string> = { organization: 'Organization', label: 'Label', module: 'Module', useCase: 'Use case' };

/** The text of a split dimension's value in a row. */
function splitValue(row: TransactionReportRow, split: Split): string {
  const value = row[split];
  // Counted for no organization (a label DS did not know then), or for one deleted since.
  if (split === 'organization' && value === null) return '(unattributed)';
  return value ?? '';
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

export function TransactionsPage(props: { session: Session; data: Transactions; split: Split | undefined; csvUrl: string }) {
  const { split } = props;
  const { query, rows, choices, currentMonth, months, days } = props.data;
  const limitedTo = props.session.principal.organizationName;
  const total = rows.reduce((s, r) => s + r.transactions, 0);
  const series = split ? [...new Set(rows.map((r) => splitValue(r, split)))].sort() : ['Transactions'];
  const seriesOf = (r: TransactionReportRow) => (split ? splitValue(r, split) : 'Transactions');
  /** Per series, the transactions of each month (or day) of `labels`. */
  const seriesOver = (labels: string[], period: 'month' | 'day') =>
    series.map((name) => ({
      label: name,
      data: labels.map((l) => rows.filter((r) => r[period] === l && seriesOf(r) === name).reduce((s, r) => s + r.transactions, 0)),
    }));
  const perMonth = seriesOver(months, 'month');
  const perDay = seriesOver(days, 'day');
  const showsCurrentMonth = months.includes(currentMonth);
  return (
    <Layout title="Transactions" session={props.session} section="transactions" charts>
      <h1>Transactions</h1>
      <p>
        Counted per day in the current month ({currentMonth}) and per month before it: once a month has ended, DS keeps only its monthly totals.
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

      <Section
        id="result"
        title={
          <>
            {query.from === query.to ? query.from : `${query.from} to ${query.to}`}: <span data-stat="total" data-value={total}>{formatCount(total)}</span> transactions
          </>
        }
      >
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
            data={{ type: 'bar', labels: months, datasets: perMonth, stacked: Boolean(split) }}
            table={
              <SeriesTable
                caption="Transactions per month"
                keyHeader="Month"
                labels={months}
                rowName={(m) => (m === currentMonth ? `${m} (so far)` : m)}
                series={perMonth}
              />
            }
          />
          {showsCurrentMonth ? (
            <ChartFigure
              id="chart-days"
              title={`Transactions per day in ${currentMonth}`}
              data={{ type: 'bar', labels: days, datasets: perDay, stacked: Boolean(split) }}
              table={
                <SeriesTable caption={`Transactions per day in ${currentMonth}`} keyHeader="Day" labels={days} series={perDay} empty="None yet" />
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
      </Section>
    </Layout>
  );
}
