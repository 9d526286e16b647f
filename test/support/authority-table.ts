// Who may do what, written out from docs/rules.md (rules 1-5, 10, 12, 13, 14, 17, 18) and ADR 0002, independently
// of the implementation: test/authority-matrix.e2e-spec.ts runs every cell over HTTP and compares.
//
// Y: allowed (2xx). N: refused with 403 (INSUFFICIENT_AUTHORITY, or CANNOT_MODIFY_SELF for the self rows).
// One column per actor, in the preset's `actors` order. A row names a command and, where it has one, the target's
// access: `invite manager` invites an address as a manager, `demote owner` changes an owner to the preset's base access.
//
// Decisions the rules leave to reading (docs/rules.md, ADR 0002):
// - Under `permissions`, a change is refused when it adds a permission the actor lacks (rule 2), so even a demotion to
//   the base access is refused when the base access holds something the actor does not. Under `studio` an
//   environment manager (the preset's owner) gives any role, operator included, which it need not hold (ADR 0034:
//   the bot studio's page has them invite the colleagues who attend the inbox).
// - Resending and copying an invitation's link count as giving the invited access, in every preset (ADR 0002 says so
//   for `levels`; the same reading for the others: whoever could not send the invitation cannot hand it out again).
//   Cancelling takes it away, as revoking does (rule 2): under `levels` the same rank check, under `permissions` and
//   `studio` any member manager (session 26: the review found it refused where revoking the member was allowed).
// - Revoking adds nothing: under `permissions` and `studio` any member manager may revoke anyone (rule 4 aside).
// - Reads of one member, access as of T and the roster as of T need the member-management permission, like the user
//   list and the history (rule 1, ADR 0003); reading one's own entry is always allowed.
// - The profile of another user is changed by an org admin only; deleting a user is for org admins (rule 10, 12).
// - Forcing a user offline needs the member-management permission and, as a revoke, rule 2 (rule 13; probe 37 F2);
//   setting oneself offline (a sign-out) needs nothing but being a member, as a heartbeat (rule 13; probe 65 F7).
// - Under `levels` only an owner (or an org admin) lifts or loosens a restriction; a manager adds them (rule 2).
// - Teams need `settings.teams` where the catalog has it (levels), else the member-management permission (rule 14).
// - The presence report needs the reports permission: `reports`, `reporting`, `analytics.read` (docs/rules.md#read-models).
// - An org admin acts as an owner everywhere (rule 5); a user of another organization, named with this
//   organization's key, is nobody here.

export type Preset = 'levels' | 'permissions' | 'studio';
export interface AccessSpec {
  roles?: string[];
  grants?: string[];
  restrictions?: Record<string, true | string>;
}

export interface PresetTable {
  /** the member actors' access; `admin` (the org admin) and `outsider` (another organization's user) are added */
  actors: Record<string, AccessSpec>;
  /** the target accesses the rows name */
  targets: Record<string, AccessSpec>;
  /** where `demote` takes a target, and where `promote` starts */
  base: string;
  /** expected outcome per row, one letter per actor (the `actors` keys in order, then admin, outsider) */
  rows: Record<string, string>;
}

const ALL_GRANTS = ['reporting', 'users', 'settings', 'ib_designer', 'ib_publisher', 'ib_data', 'wfb_user'];
const ALL_STUDIO = ['environment_manager', 'operator', 'content_manager', 'analyst', 'producer', 'developer'];

export const AUTHORITY: Record<Preset, PresetTable> = {
  levels: {
    actors: {
      owner: { roles: ['owner'] },
      manager: { roles: ['manager'] },
      'manager-ws': { roles: ['manager'], restrictions: { workspace_settings: true } },
      'manager-de': { roles: ['manager'], restrictions: { data_export: true } },
      agent: { roles: ['agent'] },
    },
    targets: { owner: { roles: ['owner'] }, manager: { roles: ['manager'] }, agent: { roles: ['agent'] }, 'restricted-agent': { roles: ['agent'], restrictions: { workflows: true } } },
    base: 'agent',
    rows: {
      //                       own man m-ws m-de agt adm out
      'invite owner':          'Y   N   N    N    N   Y   N',
      'invite manager':        'Y   N   N    N    N   Y   N',
      'invite agent':          'Y   Y   N    Y    N   Y   N',
      'resend owner':          'Y   N   N    N    N   Y   N',
      'resend manager':        'Y   N   N    N    N   Y   N',
      'resend agent':          'Y   Y   N    Y    N   Y   N',
      'cancel owner':          'Y   N   N    N    N   Y   N',
      'cancel manager':        'Y   N   N    N    N   Y   N',
      'cancel agent':          'Y   Y   N    Y    N   Y   N',
      'copy-link owner':       'Y   N   N    N    N   Y   N',
      'copy-link manager':     'Y   N   N    N    N   Y   N',
      'copy-link agent':       'Y   Y   N    Y    N   Y   N',
      'promote owner':         'Y   N   N    N    N   Y   N',
      'promote manager':       'Y   N   N    N    N   Y   N',
      'demote owner':          'Y   N   N    N    N   Y   N',
      'demote manager':        'Y   N   N    N    N   Y   N',
      'restrict agent':        'Y   Y   N    Y    N   Y   N',
      // lifting a restriction is the owner's (seed 003: "can be allowed by Owner"; probe 39b F4)
      'unrestrict restricted-agent': 'Y N N  N    N   Y   N',
      'revoke owner':          'Y   N   N    N    N   Y   N',
      'revoke manager':        'Y   N   N    N    N   Y   N',
      'revoke agent':          'Y   Y   N    Y    N   Y   N',
      'read owner':            'Y   Y   N    Y    N   Y   N',
      'read manager':          'Y   Y   N    Y    N   Y   N',
      'read agent':            'Y   Y   N    Y    N   Y   N',
      'access-as-of owner':    'Y   Y   N    Y    N   Y   N',
      'access-as-of manager':  'Y   Y   N    Y    N   Y   N',
      'access-as-of agent':    'Y   Y   N    Y    N   Y   N',
      'profile owner':         'N   N   N    N    N   Y   N',
      'profile manager':       'N   N   N    N    N   Y   N',
      'profile agent':         'N   N   N    N    N   Y   N',
      'delete owner':          'N   N   N    N    N   Y   N',
      'delete manager':        'N   N   N    N    N   Y   N',
      'delete agent':          'N   N   N    N    N   Y   N',
      // rule 2 as for a revoke (probe 37 F2: a manager knocked the owner offline)
      'force-offline owner':   'Y   N   N    N    N   Y   N',
      'force-offline manager': 'Y   N   N    N    N   Y   N',
      'force-offline agent':   'Y   Y   N    Y    N   Y   N',
      'team-add owner':        'Y   Y   N    Y    N   Y   N',
      'team-add manager':      'Y   Y   N    Y    N   Y   N',
      'team-add agent':        'Y   Y   N    Y    N   Y   N',
      'team-remove owner':     'Y   Y   N    Y    N   Y   N',
      'team-remove manager':   'Y   Y   N    Y    N   Y   N',
      'team-remove agent':     'Y   Y   N    Y    N   Y   N',
      'team-create':           'Y   Y   N    Y    N   Y   N',
      'list':                  'Y   Y   N    Y    N   Y   N',
      'history':               'Y   Y   N    Y    N   Y   N',
      'roster-as-of':          'Y   Y   N    Y    N   Y   N',
      // the export is the user list (rules 1 and 18): m-ws cannot read the list, so cannot export it
      'export':                'Y   Y   N    N    N   Y   N',
      'report':                'Y   Y   Y    Y    N   Y   N',
      'heartbeat':             'Y   Y   Y    Y    Y   Y   N',
      'force-offline self':    'Y   Y   Y    Y    Y   Y   N',
      'read self':             'Y   Y   Y    Y    Y   Y   N',
      'profile self':          'Y   Y   Y    Y    Y   Y   N',
      'change self':           'N   N   N    N    N   N   N',
      'revoke self':           'N   N   N    N    N   N   N',
      'delete self':           'N   N   N    N    N   N   N',
    },
  },
  permissions: {
    actors: {
      all: { grants: ALL_GRANTS },
      users: { grants: ['users'] },
      'users+settings': { grants: ['users', 'settings'] },
      reporting: { grants: ['reporting'] },
      none: {},
    },
    targets: { none: {}, users: { grants: ['users'] }, settings: { grants: ['settings'] }, all: { grants: ALL_GRANTS } },
    base: 'none',
    rows: {
      //                        all usr u+s rep non adm out
      'invite none':           'Y   Y   Y   N   N   Y   N',
      'invite users':          'Y   Y   Y   N   N   Y   N',
      'invite settings':       'Y   N   Y   N   N   Y   N',
      'invite all':            'Y   N   N   N   N   Y   N',
      'resend none':           'Y   Y   Y   N   N   Y   N',
      'resend users':          'Y   Y   Y   N   N   Y   N',
      'resend settings':       'Y   N   Y   N   N   Y   N',
      'resend all':            'Y   N   N   N   N   Y   N',
      'cancel none':           'Y   Y   Y   N   N   Y   N',
      'cancel users':          'Y   Y   Y   N   N   Y   N',
      'cancel settings':       'Y   Y   Y   N   N   Y   N',
      'cancel all':            'Y   Y   Y   N   N   Y   N',
      'copy-link none':        'Y   Y   Y   N   N   Y   N',
      'copy-link users':       'Y   Y   Y   N   N   Y   N',
      'copy-link settings':    'Y   N   Y   N   N   Y   N',
      'copy-link all':         'Y   N   N   N   N   Y   N',
      'promote users':         'Y   Y   Y   N   N   Y   N',
      'promote settings':      'Y   N   Y   N   N   Y   N',
      'promote all':           'Y   N   N   N   N   Y   N',
      'demote users':          'Y   Y   Y   N   N   Y   N',
      'demote settings':       'Y   Y   Y   N   N   Y   N',
      'demote all':            'Y   Y   Y   N   N   Y   N',
      'revoke none':           'Y   Y   Y   N   N   Y   N',
      'revoke users':          'Y   Y   Y   N   N   Y   N',
      'revoke settings':       'Y   Y   Y   N   N   Y   N',
      'revoke all':            'Y   Y   Y   N   N   Y   N',
      'read none':             'Y   Y   Y   N   N   Y   N',
      'read users':            'Y   Y   Y   N   N   Y   N',
      'read settings':         'Y   Y   Y   N   N   Y   N',
      'read all':              'Y   Y   Y   N   N   Y   N',
      'access-as-of none':     'Y   Y   Y   N   N   Y   N',
      'access-as-of users':    'Y   Y   Y   N   N   Y   N',
      'access-as-of settings': 'Y   Y   Y   N   N   Y   N',
      'access-as-of all':      'Y   Y   Y   N   N   Y   N',
      'force-offline none':    'Y   Y   Y   N   N   Y   N',
      'force-offline users':   'Y   Y   Y   N   N   Y   N',
      'force-offline settings':'Y   Y   Y   N   N   Y   N',
      'force-offline all':     'Y   Y   Y   N   N   Y   N',
      'team-add none':         'Y   Y   Y   N   N   Y   N',
      'team-add users':        'Y   Y   Y   N   N   Y   N',
      'team-add settings':     'Y   Y   Y   N   N   Y   N',
      'team-add all':          'Y   Y   Y   N   N   Y   N',
      'team-remove none':      'Y   Y   Y   N   N   Y   N',
      'team-remove users':     'Y   Y   Y   N   N   Y   N',
      'team-remove settings':  'Y   Y   Y   N   N   Y   N',
      'team-remove all':       'Y   Y   Y   N   N   Y   N',
      'profile none':          'N   N   N   N   N   Y   N',
      'profile users':         'N   N   N   N   N   Y   N',
      'profile settings':      'N   N   N   N   N   Y   N',
      'profile all':           'N   N   N   N   N   Y   N',
      'delete none':           'N   N   N   N   N   Y   N',
      'delete users':          'N   N   N   N   N   Y   N',
      'delete settings':       'N   N   N   N   N   Y   N',
      'delete all':            'N   N   N   N   N   Y   N',
      'team-create':           'Y   Y   Y   N   N   Y   N',
      'list':                  'Y   Y   Y   N   N   Y   N',
      'history':               'Y   Y   Y   N   N   Y   N',
      'roster-as-of':          'Y   Y   Y   N   N   Y   N',
      'export':                'Y   Y   Y   N   N   Y   N',
      'report':                'Y   N   N   Y   N   Y   N',
      'heartbeat':             'Y   Y   Y   Y   Y   Y   N',
      'force-offline self':    'Y   Y   Y   Y   Y   Y   N',
      'read self':             'Y   Y   Y   Y   Y   Y   N',
      'profile self':          'Y   Y   Y   Y   Y   Y   N',
      'change self':           'N   N   N   N   N   N   N',
      'revoke self':           'N   N   N   N   N   N   N',
      'delete self':           'N   N   N   N   N   N   N',
    },
  },
  studio: {
    actors: {
      all: { roles: ALL_STUDIO },
      em: { roles: ['environment_manager'] },
      'em+developer': { roles: ['environment_manager', 'developer'] },
      producer: { roles: ['producer'] },
      operator: { roles: ['operator'] },
    },
    targets: { operator: { roles: ['operator'] }, environment_manager: { roles: ['environment_manager'] }, developer: { roles: ['developer'] } },
    base: 'operator',
    rows: {
      //                                   all em  e+d pro op  adm out
      'invite operator':                  'Y   Y   Y   N   N   Y   N',
      'invite environment_manager':       'Y   Y   Y   N   N   Y   N',
      'invite developer':                 'Y   Y   Y   N   N   Y   N',
      'resend operator':                  'Y   Y   Y   N   N   Y   N',
      'resend environment_manager':       'Y   Y   Y   N   N   Y   N',
      'resend developer':                 'Y   Y   Y   N   N   Y   N',
      'cancel operator':                  'Y   Y   Y   N   N   Y   N',
      'cancel environment_manager':       'Y   Y   Y   N   N   Y   N',
      'cancel developer':                 'Y   Y   Y   N   N   Y   N',
      'copy-link operator':               'Y   Y   Y   N   N   Y   N',
      'copy-link environment_manager':    'Y   Y   Y   N   N   Y   N',
      'copy-link developer':              'Y   Y   Y   N   N   Y   N',
      'promote environment_manager':      'Y   Y   Y   N   N   Y   N',
      'promote developer':                'Y   Y   Y   N   N   Y   N',
      'demote environment_manager':       'Y   Y   Y   N   N   Y   N',
      'demote developer':                 'Y   Y   Y   N   N   Y   N',
      'revoke operator':                  'Y   Y   Y   N   N   Y   N',
      'revoke environment_manager':       'Y   Y   Y   N   N   Y   N',
      'revoke developer':                 'Y   Y   Y   N   N   Y   N',
      'read operator':                    'Y   Y   Y   N   N   Y   N',
      'read environment_manager':         'Y   Y   Y   N   N   Y   N',
      'read developer':                   'Y   Y   Y   N   N   Y   N',
      'access-as-of operator':            'Y   Y   Y   N   N   Y   N',
      'access-as-of environment_manager': 'Y   Y   Y   N   N   Y   N',
      'access-as-of developer':           'Y   Y   Y   N   N   Y   N',
      'force-offline operator':           'Y   Y   Y   N   N   Y   N',
      'force-offline environment_manager':'Y   Y   Y   N   N   Y   N',
      'force-offline developer':          'Y   Y   Y   N   N   Y   N',
      'team-add operator':                'Y   Y   Y   N   N   Y   N',
      'team-add environment_manager':     'Y   Y   Y   N   N   Y   N',
      'team-add developer':               'Y   Y   Y   N   N   Y   N',
      'team-remove operator':             'Y   Y   Y   N   N   Y   N',
      'team-remove environment_manager':  'Y   Y   Y   N   N   Y   N',
      'team-remove developer':            'Y   Y   Y   N   N   Y   N',
      'profile operator':                 'N   N   N   N   N   Y   N',
      'profile environment_manager':      'N   N   N   N   N   Y   N',
      'profile developer':                'N   N   N   N   N   Y   N',
      'delete operator':                  'N   N   N   N   N   Y   N',
      'delete environment_manager':       'N   N   N   N   N   Y   N',
      'delete developer':                 'N   N   N   N   N   Y   N',
      'team-create':                      'Y   Y   Y   N   N   Y   N',
      'list':                             'Y   Y   Y   N   N   Y   N',
      'history':                          'Y   Y   Y   N   N   Y   N',
      'roster-as-of':                     'Y   Y   Y   N   N   Y   N',
      'export':                           'Y   Y   Y   N   N   Y   N',
      'report':                           'Y   N   N   Y   N   Y   N',
      'heartbeat':                        'Y   Y   Y   Y   Y   Y   N',
      'force-offline self':               'Y   Y   Y   Y   Y   Y   N',
      'read self':                        'Y   Y   Y   Y   Y   Y   N',
      'profile self':                     'Y   Y   Y   Y   Y   Y   N',
      'change self':                      'N   N   N   N   N   N   N',
      'revoke self':                      'N   N   N   N   N   N   N',
      'delete self':                      'N   N   N   N   N   N   N',
    },
  },
};

/** The actor columns of a preset, in table order. */
export const actorsOf = (preset: Preset): string[] => [...Object.keys(AUTHORITY[preset].actors), 'admin', 'outsider'];

/** `verb target` of a row name (the target is absent for rows without one, `self` for the self rows). */
export const parseRow = (row: string): { verb: string; target?: string } => {
  const [verb, target] = row.split(' ') as [string, string | undefined];
  return { verb, target };
};

/** The expected letter of each actor for a row. */
export const expectedOf = (preset: Preset, row: string): Record<string, 'Y' | 'N'> => {
  const letters = AUTHORITY[preset].rows[row]!.split(/\s+/) as ('Y' | 'N')[];
  const actors = actorsOf(preset);
  if (letters.length !== actors.length) throw new Error(`${preset} '${row}': ${letters.length} letters for ${actors.length} actors`);
  return Object.fromEntries(actors.map((a, i) => [a, letters[i]!]));
};
