import type { Child } from 'hono/jsx';

// Pieces the pages share. Every chart is drawn by the dashboard script from the data attribute of
// its canvas, and the same numbers are always in a table beside it: screen readers, and
// browsers without scripts, read the table.

export const formatCount = (n: number) => n.toLocaleString('en-US');

/** `0.4567` → `45.7 %`; a dash when there is nothing to divide. */
export function formatShare(part: number, whole: number): string {
  if (whole <= 0) return '–';
  return `${((part / whole) * 100).toFixed(1)} %`;
}

export interface ChartData {
  type: 'bar' | 'doughnut';
  labels: string[];
  datasets: { label: string; data: number[] }[];
  /** Stacked bars (several datasets). */
  stacked?: boolean;
  /** Horizontal bars: long category names read better. */
  horizontal?: boolean;
}

/** A chart: a canvas the script draws on, described for screen readers, with its data in `table`. */
export function ChartFigure(props: { id: string; title: string; data: ChartData; table: Child; wide?: boolean }) {
  const empty = props.data.datasets.every((d) => d.data.every((v) => v === 0));
  return (
    <figure class={props.wide ? 'chart wide' : 'chart'} aria-labelledby={`${props.id}-title`}>
      <figcaption id={`${props.id}-title`}>{props.title}</figcaption>
      <div class="chart-body">
        {empty ? (
          <p class="empty">Nothing to show yet.</p>
        ) : (
          <div class="canvas-box">
            <canvas
              id={props.id}
              role="img"
              aria-label={`${props.title}: chart; the same numbers are in the table beside it`}
              data-chart={JSON.stringify(props.data)}
            ></canvas>
          </div>
        )}
        <div class="table-box" role="region" aria-label={`${props.title}: table`} tabindex={0}>
          {props.table}
        </div>
      </div>
    </figure>
  );
}

/** A part of a page, named by its heading. */
export function Section(props: { id: string; title: Child; children?: Child }) {
  return (
    <section aria-labelledby={`${props.id}-heading`}>
      <h2 id={`${props.id}-heading`}>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** A table whose first column names its rows and whose other columns are numbers; `empty` fills it when there are no rows. */
function NumberTable(props: { caption: string; keyHeader: string; numberHeaders: string[]; rows: Child[]; empty?: string | undefined }) {
  return (
    <table>
      <caption class="visually-hidden">{props.caption}</caption>
      <thead>
        <tr>
          <th scope="col">{props.keyHeader}</th>
          {props.numberHeaders.map((header) => (
            <th scope="col" class="num">
              {header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {props.rows.length === 0 && props.empty !== undefined ? (
          <tr>
            <td colspan={props.numberHeaders.length + 1}>{props.empty}</td>
          </tr>
        ) : (
          props.rows
        )}
      </tbody>
    </table>
  );
}

/** A table of (name, count, share) rows with a total. */
export function CountTable(props: { caption: string; keyHeader: string; countHeader: string; rows: { key: string; count: number }[]; total?: number; share?: boolean }) {
  const total = props.total ?? props.rows.reduce((s, r) => s + r.count, 0);
  const share = props.share ?? true;
  return (
    <NumberTable
      caption={props.caption}
      keyHeader={props.keyHeader}
      numberHeaders={share ? [props.countHeader, 'Share'] : [props.countHeader]}
      empty="None"
      rows={props.rows.map((r) => (
        <tr>
          <th scope="row">{r.key}</th>
          <td class="num" data-value={r.count}>
            {formatCount(r.count)}
          </td>
          {share ? <td class="num">{formatShare(r.count, total)}</td> : null}
        </tr>
      ))}
    />
  );
}

/** Key figures: a definition list whose values carry their raw number in `data-value`. */
export function Stats(props: { items: { id: string; term: string; value: number | string; detail?: string | undefined }[] }) {
  return (
    <dl class="stats">
      {props.items.map((item) => (
        <div class="stat">
          <dt>{item.term}</dt>
          <dd data-stat={item.id} data-value={typeof item.value === 'number' ? item.value : undefined}>
            {typeof item.value === 'number' ? formatCount(item.value) : item.value}
          </dd>
          {item.detail ? <dd class="detail">{item.detail}</dd> : null}
        </div>
      ))}
    </dl>
  );
}

/**
 * The organization picker of the overview and demographics pages: admins choose one or all; a
 * user limited to one organization is told which one, with nothing to choose.
 */
export function OrganizationPicker(props: { action: string; organizations: string[]; selected: string | undefined; limitedTo: string | null }) {
  if (props.limitedTo !== null) {
    return (
      <p class="scope">
        Organization: <strong>{props.limitedTo}</strong> (your account sees this organization only)
      </p>
    );
  }
  return (
    <form class="picker" method="get" action={props.action}>
      <label for="organization">Organization</label>
      <select id="organization" name="organization">
        <option value="" selected={!props.selected}>
          All organizations
        </option>
        {props.organizations.map((name) => (
          <option value={name} selected={name === props.selected}>
            {name}
          </option>
        ))}
      </select>
      <button type="submit">Show</button>
    </form>
  );
}

/** Why an organization-limited user sees no downloads. */
export function DownloadsHidden() {
  return (
    <p class="notice" data-downloads-hidden="">
      Installer downloads are not shown: downloads belong to no organization, so only users who see all of DS see them.
    </p>
  );
}

/** What the organization choice means for downloads, which belong to no organization. */
export function DownloadsScope(props: { organization: string | undefined }) {
  return props.organization ? (
    <p class="hint">Downloads belong to no organization: they are shown for all of DS whatever organization is chosen.</p>
  ) : null;
}

/** A chart of (name, count) rows with their table (see {@link CountTable}). */
export function CountChart(props: { id: string; title: string; type: 'bar' | 'doughnut'; keyHeader: string; countHeader: string; rows: { key: string; count: number }[]; total?: number }) {
  return (
    <ChartFigure
      id={props.id}
      title={props.title}
      data={{ type: props.type, horizontal: props.type === 'bar', labels: props.rows.map((r) => r.key), datasets: [{ label: props.countHeader, data: props.rows.map((r) => r.count) }] }}
      table={<CountTable caption={props.title} keyHeader={props.keyHeader} countHeader={props.countHeader} rows={props.rows} {...(props.total !== undefined ? { total: props.total } : {})} />}
    />
  );
}

/**
 * A (possibly stacked) bar chart's numbers over time as a table: a row per label (a month, a day),
 * a column per series. The chart runs oldest to newest along its axis; the table lists the newest
 * first, as people read a table from the top and want the latest period (the one with data when
 * the older ones are empty) without scrolling past the rest.
 */
export function SeriesTable(props: {
  caption: string;
  keyHeader: string;
  labels: string[];
  series: { label: string; data: number[] }[];
  rowName?: (label: string) => string;
  /** Said in the table when there are no labels. */
  empty?: string;
}) {
  return (
    <NumberTable
      caption={props.caption}
      keyHeader={props.keyHeader}
      numberHeaders={props.series.map((s) => s.label)}
      empty={props.empty}
      rows={props.labels
        .map((label, i) => (
          <tr>
            <th scope="row">{props.rowName ? props.rowName(label) : label}</th>
            {props.series.map((s) => (
              <td class="num">{formatCount(s.data[i] ?? 0)}</td>
            ))}
          </tr>
        ))
        .reverse()}
    />
  );
}

/** A labelled select whose first option means all; a selected value not among the options is kept. */
export function Select(props: { id: string; label: string; all: string; options: string[]; selected: string | undefined; onlyChoice?: boolean }) {
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
