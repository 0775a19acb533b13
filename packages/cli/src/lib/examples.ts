import type { Command } from 'commander';

/**
 * The examples at the end of every `--help`, by command path (`''` is `ds` itself). Kept in one
 * table rather than in each command's file so they read as a whole, and so a test can check every
 * one against the program: each command has examples, and every example names a real command and
 * only options it has (index.test.ts). A `#` starts a comment shown beside the example.
 */
export const EXAMPLES: Record<string, string[]> = {
  '': [
    'ds login --url http://127.0.0.1:3000',
    'ds org list',
    'ds report transactions --by month,label',
    'ds profile list                 # the DS URLs you are logged in to',
    'ds completion bash              # shell completion (see ds completion --help)',
  ],

  serve: [
    'ds serve                                          # http://127.0.0.1:3000, ./data/ds.db',
    'ds serve --port 8080 --host 0.0.0.0 --public-url https://ds.example.com',
    'ds serve --database postgres://ds@db/ds --master-key-file /etc/ds/master.key --workers 2',
    'ds serve --log-format json --log-level info       # JSON lines even on a terminal',
  ],
  init: [
    'ds init                                           # migrate ./data/ds.db, make keys and the user admin',
    'ds init --database postgres://ds@db/ds --admin-password-stdin < admin-password.txt',
  ],
  demo: ['ds demo', 'ds demo --port 0 --database /tmp/ds-demo.db --installer-root /tmp/ds-installers'],

  login: [
    'ds login --url http://127.0.0.1:3000              # asks user and password',
    'ds login --url https://staging.example --profile staging   # and switches to it',
    'ds login --url https://ds.example --username ci --password-stdin < password.txt',
  ],
  logout: ['ds logout', 'ds logout --profile staging'],
  whoami: ['ds whoami', 'ds whoami --json', 'ds whoami --profile staging'],

  profile: ['ds profile list', 'ds profile use staging', 'ds profile show'],
  'profile list': ['ds profile list', 'ds profile list --json'],
  'profile show': ['ds profile show', 'ds profile show staging --json'],
  'profile use': ['ds profile use staging', 'ds profile use default'],
  'profile delete': ['ds profile delete staging', 'ds profile delete old --yes'],

  audit: ['ds audit list --since 24h', 'ds audit verify', 'ds audit export --since 2026-03-01 --output audit.jsonl'],
  'audit list': [
    'ds audit list --since 7d --resource version            # who changed versions this week',
    'ds audit list --actor alice --action "token.*" --json',
    'ds audit list --org acme --csv > acme-audit.csv',
  ],
  'audit verify': ['ds audit verify                  # exit code 1 when the chain is broken', 'ds audit verify --json'],
  'audit export': ['ds audit export --since 24h | your-siem-forwarder', 'ds audit export --since 2026-03-01 --output audit.jsonl'],

  webhook: ["ds webhook create https://ci.example.com/ds --events 'version.*,rollout.paused'", 'ds webhook list', 'ds webhook deliveries <id>'],
  'webhook list': ['ds webhook list', 'ds webhook list --org acme --json'],
  'webhook create': [
    "ds webhook create https://ci.example.com/ds --events 'version.*,rollout.paused'   # prints the signing secret once",
    'ds webhook create https://hooks.acme.example/ds --events device.rejected --org acme',
  ],
  'webhook get': ['ds webhook get <id>', 'ds webhook get <id> --json'],
  'webhook delete': ['ds webhook delete <id> --yes'],
  'webhook enable': ['ds webhook enable <id>           # after fixing an endpoint DS disabled'],
  'webhook deliveries': ['ds webhook deliveries <id>', 'ds webhook deliveries <id> --status failed --json   # with every attempt'],
  'webhook redeliver': ['ds webhook redeliver <id> msg_0f3c...'],
  'webhook rotate-secret': ['ds webhook rotate-secret <id> --yes              # the old secret signs too for a day', 'ds webhook rotate-secret <id> --grace 0 --yes    # a leaked secret: stop it now'],

  org: ['ds org list', 'ds org create acme --description "Acme Corp"', 'ds org delete acme --force --yes'],
  'org list': ['ds org list', 'ds org list --csv > organizations.csv'],
  'org get': ['ds org get acme', 'ds org get acme --json'],
  'org create': ['ds org create acme', 'ds org create acme --description "Acme Corp"'],
  'org update': ['ds org update acme --description "Acme Corporation"'],
  'org delete': ['ds org delete acme                  # asks first', 'ds org delete acme --force --yes    # with its labels'],
  'org policy': ["ds org policy set acme --hold '<3.10' --window 'Sat 02:00-06:00 Europe/Brussels'", 'ds org policy show acme', 'ds org policy clear acme --yes'],
  'org policy show': ['ds org policy show acme', 'ds org policy show acme --json'],
  'org policy set': [
    "ds org policy set acme --hold '<3.10'                              # stay on 3.9.x and older",
    "ds org policy set acme --window 'Sat 02:00-06:00 Europe/Brussels'  # updates only then (mandatory ones at once)",
    'ds org policy set acme-labs --prereleases                         # its devices get betas too',
    'ds org policy set acme --no-hold --no-window',
  ],
  'org policy clear': ['ds org policy clear acme --yes'],

  label: ['ds label list --org acme', 'ds label create acme-web --org acme', 'ds label rotate-key acme-web --grace 1h --yes'],
  'label list': ['ds label list', 'ds label list --org acme --json'],
  'label get': ['ds label get acme-web'],
  'label create': ['ds label create acme-web --org acme            # prints the label API key once', 'ds label create acme-web --org acme --json | jq -r .apiKey'],
  'label update': ['ds label update acme-web --description "Acme web shop"', 'ds label update acme-web --org acme-eu'],
  'label delete': ['ds label delete acme-web --yes'],
  'label rotate-key': ['ds label rotate-key acme-web                  # the old key stops working now', 'ds label rotate-key acme-web --grace 1h --yes   # the old key works an hour more'],
  'label revoke-key': ['ds label revoke-key acme-web --yes'],

  version: ['ds version list', 'ds version create 3.9.0 --recommended --installer win64=https://cdn.example.com/t1c-3.9.0.exe', 'ds version config get 3.9.0'],
  'version list': ['ds version list', 'ds version list --csv > versions.csv'],
  'version get': ['ds version get 3.9.0', 'ds version get 3.9.0 --json'],
  'version create': [
    'ds version create 3.9.0 --recommended --installer win64=file:///srv/ds/installers/3.9.0/t1c-win64.exe',
    'ds version create 3.9.0 --installer macosarm=https://cdn.example.com/t1c-arm64.pkg --release-notes "Faster PIN entry"',
  ],
  'version apply': [
    'ds version apply 3.9.0 --recommended --installer win64=file:///srv/ds/installers/3.9.0/t1c-win64.exe   # in a pipeline: again changes nothing',
    'ds version apply 3.9.0 --file version.json --exact',
  ],
  'version update': ['ds version update 3.9.0 --mandatory', 'ds version update 3.7.0 --no-allowed --yes   # withdraw it: devices on it shut down'],
  'version delete': ['ds version delete 3.7.0', 'ds version delete 3.7.0 --force --yes'],
  'version installer': ['ds version installer list 3.9.0', 'ds version installer add 3.9.0 linux64=file:///srv/ds/installers/3.9.0/t1c-amd64.deb'],
  'version installer list': ['ds version installer list 3.9.0'],
  'version installer add': ['ds version installer add 3.9.0 linux64=file:///srv/ds/installers/3.9.0/t1c-amd64.deb', 'ds version installer add 3.9.0 macos=https://cdn.example.com/t1c.pkg --sha256 <64 hex>'],
  'version installer remove': ['ds version installer remove 3.9.0 unix --yes'],
  'version verify': ['ds version verify 3.9.0            # exit 1 when an installer file changed'],
  'version rotate-key': ['ds version rotate-key 3.9.0 --grace 24h --yes'],
  'version revoke-key': ['ds version revoke-key 3.9.0 --yes'],
  'version config': ['ds version config get 3.9.0', "ds version config set 3.9.0 --cors 'https://*.acme.com' --sync-interval 1800"],
  'version config get': ['ds version config get 3.9.0', 'ds version config get default --json'],
  'version config set': ["ds version config set 3.9.0 --cors 'https://*.acme.com' --sync-interval 30m", 'ds version config set default --sync-failure-limit 12'],
  'version keystore': ['ds version keystore get 3.9.0', 'ds version keystore set 3.9.0 --uri https://cdn.example.com/ks.p12 --sha256 <64 hex>'],
  'version keystore get': ['ds version keystore get 3.9.0'],
  'version keystore set': ['ds version keystore set 3.9.0 --uri https://cdn.example.com/ks.p12 --sha256 <64 hex>'],
  'version keystore clear': ['ds version keystore clear 3.9.0 --yes'],

  rollout: ['ds rollout start 3.10.0 --waves 5,25,100', 'ds rollout status 3.10.0', 'ds rollout history 3.10.0'],
  'rollout start': [
    'ds rollout start 3.10.0                                   # 1%, 5%, 25%, 100%, a day each',
    'ds rollout start 3.10.0 --waves 5,25,100 --wave-hold 24h --max-failure-rate 2% --min-sample 20 --stuck-after 3',
  ],
  'rollout update': ['ds rollout update 3.10.0 --wave-hold 12h', 'ds rollout update 3.10.0 --waves 5,50,100 --max-failure-rate 5%'],
  'rollout status': ['ds rollout status 3.10.0', 'ds rollout status 3.10.0 --json | jq .gate'],
  'rollout pause': ['ds rollout pause 3.10.0 --note "crash reports from acme"'],
  'rollout resume': ['ds rollout resume 3.10.0 --note "the crashes were a proxy outage"'],
  'rollout promote': ['ds rollout promote 3.10.0                 # the next wave now, without waiting for the hold'],
  'rollout abort': ['ds rollout abort 3.10.0 --yes --note "3.10.1 replaces it"'],
  'rollout history': ['ds rollout history 3.10.0', 'ds rollout history 3.10.0 --json'],

  device: ['ds device list --since 24h', 'ds device get <id>', 'ds device delete <id> --yes'],
  'device list': ['ds device list --org acme --since 24h', 'ds device list --status ERROR --os Windows --json'],
  'device get': ['ds device get <id>                 # labels, user agents, this month\'s counters'],
  'device delete': ['ds device delete <id> --yes        # the device must register again'],

  user: ['ds user list', 'ds user create alice --role viewer --org acme', 'ds user update alice --role admin --no-org'],
  'user list': ['ds user list', 'ds user list --json'],
  'user get': ['ds user get alice'],
  'user create': ['ds user create alice --role viewer --org acme     # asks the password twice', 'ds user create ci-bot --role admin --password-stdin < password.txt'],
  'user update': ['ds user update alice --role admin', 'ds user update alice --org acme          # limit to one organization', 'ds user update alice --no-org            # see all of DS again'],
  'user delete': ['ds user delete alice --yes'],
  'user passwd': ['ds user passwd alice', 'ds user passwd admin --password-stdin < passwords.txt   # your own: current, then new'],

  token: ['ds token list', 'ds token create --name ci --scope versions:read,versions:write --expires 90d', 'ds token revoke ci --yes'],
  'token list': ['ds token list', 'ds token list --all        # everyone\'s'],
  'token create': ['ds token create --name ci --scope versions:read --scope versions:write --expires 90d', 'ds token create --name reports --scope reports:read --json | jq -r .token'],
  'token revoke': ['ds token revoke ci --yes         # by the name it was created with', 'ds token revoke <id> --yes       # by id (ds token list)'],

  keys: ['ds keys list', 'ds keys rotate --yes'],
  'keys list': ['ds keys list', 'ds keys list --json'],
  'keys rotate': ['ds keys rotate --yes', 'ds keys rotate --use sig --type rsa --yes'],
  'keys rekey': [
    'ds keys rekey --new-key-file new.key && install -m 600 new.key data/master.key   # new.key: (umask 077; openssl rand -base64 32 > new.key)',
    'DS_MASTER_KEY_FILE=/run/secrets/ds-old ds keys rekey --new-key-file new.key --yes',
  ],

  report: ['ds report transactions --by month,org', 'ds report devices --by os', 'ds report downloads --by month,os'],
  'report transactions': [
    'ds report transactions                                   # this month',
    'ds report transactions --from 2026-01 --by month,org',
    'ds report transactions --org acme --from 2026-10 --to 2026-10 --by label,module,use-case --csv',
  ],
  'report devices': ['ds report devices', 'ds report devices --by label --org acme --stale-intervals 5', 'ds report devices --daily-limited --by device'],
  'report downloads': ['ds report downloads', 'ds report downloads --from 2026-01 --by month,os --os WIN64'],
  'report adoption': [
    'ds report adoption                                       # this month, by day and version',
    'ds report adoption --from 2026-09 --by day,version --org acme',
    'ds report adoption --by os,version --csv                 # today, as of now',
  ],

  counters: ['ds counters rollover', 'ds counters rollover --month 2026-10'],
  'counters rollover': ['ds counters rollover                  # every closed month that still has work', 'ds counters rollover --month 2026-10    # one month; again changes nothing'],

  simulate: [
    'ds simulate --devices 50 --verify --installation-key ds_ins_…',
    'ds simulate --devices 10 --days 60 --seed 7 --json',
    'ds simulate --devices 200 --duration 1h --interval 5m --fail-version 3.10.0 --fail-rate 30% --error-rate 0 --log versions.jsonl',
  ],

  system: ['ds system status', 'ds system info'],
  'system info': ['ds system info', 'ds system info --json'],
  'system status': ['ds system status                 # no login needed', 'ds system status --url https://ds.example.com --json'],

  db: ['ds db migrate', 'ds db backup ds-backup.db'],
  'db migrate': ['ds db migrate', 'ds db migrate --database postgres://ds@db/ds'],
  'db backup': ['ds db backup ds-backup.db', 'ds db backup /backups/ds-$(date +%F).db --database ./data/ds.db'],

  about: ['ds about', 'ds about --json'],
  completion: ['source <(ds completion bash)      # in ~/.bashrc', 'source <(ds completion zsh)       # in ~/.zshrc', 'ds completion fish > ~/.config/fish/completions/ds.fish'],
};

/** The path of a command below `ds`: `version config set`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command of `program`, `program` first. */
export function allCommands(program: Command): Command[] {
  return [program, ...program.commands.flatMap((c) => allCommands(c))];
}

/** Adds an "Examples:" section to the help of every command that has examples. */
export function addExamples(program: Command): void {
  for (const command of allCommands(program)) {
    const examples = EXAMPLES[commandPath(command)];
    if (examples) command.addHelpText('after', `\nExamples:\n${examples.map((example) => `  $ ${example}`).join('\n')}\n`);
  }
}
