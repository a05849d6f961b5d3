// Parsing ActiveMQ failover URIs: every option with its default, nested.* options, and every
// malformed URI with the message that names the bad part.
import { expect } from 'chai';
import { FailoverClientError } from './errors.js';
import { ENDPOINT_DEFAULTS, FAILOVER_DEFAULTS, parseConnectionUri } from './uri.js';

const TWO = 'failover:(stomp://127.0.0.1:61613,stomp://127.0.0.1:61623)';

function rejects(uri: string, fragment: string): void {
  let caught: unknown;
  try {
    parseConnectionUri(uri);
  } catch (error) {
    caught = error;
  }
  expect(caught, `'${uri}' should be refused`).to.be.instanceOf(FailoverClientError);
  const error = caught as FailoverClientError;
  expect(error.code).to.equal('TANDEM_ERR_FAILOVER_URI_INVALID');
  expect(error.message).to.include(fragment);
  expect(error.message).to.match(/^invalid connection URI: /);
}

describe('failover URI', function () {
  describe('defaults (ActiveMQ FailoverTransport)', function () {
    const parsed = parseConnectionUri(TWO);
    const cases: Array<[keyof typeof FAILOVER_DEFAULTS, unknown]> = [
      ['randomize', true],
      ['initialReconnectDelay', 10],
      ['maxReconnectDelay', 30000],
      ['useExponentialBackOff', true],
      ['reconnectDelayExponent', 2.0],
      ['maxReconnectAttempts', -1],
      ['startupMaxReconnectAttempts', -1],
      ['timeout', -1],
      ['priorityBackup', false],
      ['priorityURIs', []],
    ];
    for (const [name, value] of cases) {
      it(`${name} defaults to ${JSON.stringify(value)}`, function () {
        expect(parsed.options[name]).to.deep.equal(value);
      });
    }

    it('endpoint options default to connectionTimeout 30000, keepAlive false, tcpNoDelay true, verifyHostName true', function () {
      expect(parsed.endpoints[0]!.options).to.deep.equal({ connectionTimeout: 30000, keepAlive: false, tcpNoDelay: true, verifyHostName: true });
      expect(ENDPOINT_DEFAULTS.connectionTimeout).to.equal(30000);
    });

    it('keeps the endpoints in list order and normalises them', function () {
      expect(parsed.failover).to.equal(true);
      expect(parsed.endpoints.map((e) => e.uri)).to.deep.equal(['stomp://127.0.0.1:61613', 'stomp://127.0.0.1:61623']);
      expect(parsed.endpoints[0]).to.include({ scheme: 'stomp', host: '127.0.0.1', port: 61613, path: '', tls: false });
    });
  });

  describe('every option set', function () {
    const uri =
      `${TWO}?randomize=false&initialReconnectDelay=100&maxReconnectDelay=5000&useExponentialBackOff=false` +
      '&reconnectDelayExponent=1.5&maxReconnectAttempts=7&startupMaxReconnectAttempts=3&timeout=2500&priorityBackup=true' +
      '&priorityURIs=stomp://127.0.0.1:61623';
    const { options } = parseConnectionUri(uri);
    const expected: Record<string, unknown> = {
      randomize: false,
      initialReconnectDelay: 100,
      maxReconnectDelay: 5000,
      useExponentialBackOff: false,
      reconnectDelayExponent: 1.5,
      maxReconnectAttempts: 7,
      startupMaxReconnectAttempts: 3,
      timeout: 2500,
      priorityBackup: true,
      priorityURIs: ['stomp://127.0.0.1:61623'],
    };
    for (const [name, value] of Object.entries(expected)) {
      it(`reads ${name}=${JSON.stringify(value)}`, function () {
        expect((options as unknown as Record<string, unknown>)[name]).to.deep.equal(value);
      });
    }

    it('takes backOffMultiplier as an alias of reconnectDelayExponent', function () {
      expect(parseConnectionUri(`${TWO}?backOffMultiplier=3`).options.reconnectDelayExponent).to.equal(3);
    });

    it('reads booleans in any case', function () {
      expect(parseConnectionUri(`${TWO}?randomize=FALSE`).options.randomize).to.equal(false);
    });

    it('decodes %-escaped values (a priorityURIs list written encoded)', function () {
      const parsed = parseConnectionUri(`${TWO}?priorityBackup=true&priorityURIs=stomp%3A%2F%2F127.0.0.1%3A61613`);
      expect(parsed.options.priorityURIs).to.deep.equal(['stomp://127.0.0.1:61613']);
    });
  });

  describe('forms', function () {
    it('accepts failover:// and the short form failover:uri1,uri2 (options then belong to the inner URIs)', function () {
      expect(parseConnectionUri('failover://(stomp://a:1)').endpoints[0]!.uri).to.equal('stomp://a:1');
      const short = parseConnectionUri('failover:stomp://a:1,stomp://b:2?keepAlive=true');
      expect(short.endpoints.map((e) => e.options.keepAlive)).to.deep.equal([false, true]);
      expect(short.options).to.deep.equal({ ...FAILOVER_DEFAULTS, priorityURIs: [] });
    });

    it('accepts a plain URI as one endpoint that, as in ActiveMQ, does not reconnect', function () {
      const plain = parseConnectionUri('stomp://127.0.0.1:61613');
      expect(plain.failover).to.equal(false);
      expect(plain.endpoints).to.have.length(1);
      expect(plain.options.maxReconnectAttempts).to.equal(0);
      expect(plain.options.startupMaxReconnectAttempts).to.equal(0);
    });

    it('parses every inner scheme: stomp, stomp+ssl, ws, wss', function () {
      const parsed = parseConnectionUri('failover:(stomp://h:1,stomp+ssl://h:2,ws://h:3,wss://h:4/stomp)');
      expect(parsed.endpoints.map((e) => [e.uri, e.tls])).to.deep.equal([
        ['stomp://h:1', false],
        ['stomp+ssl://h:2', true],
        ['ws://h:3/', false],
        ['wss://h:4/stomp', true],
      ]);
    });

    it('normalises scheme and host case and brackets IPv6', function () {
      const parsed = parseConnectionUri('failover:(STOMP://LocalHost:1,ws://[::1]:2/x)');
      expect(parsed.endpoints.map((e) => e.uri)).to.deep.equal(['stomp://localhost:1', 'ws://[::1]:2/x']);
      expect(parsed.endpoints[1]!.host).to.equal('::1');
    });

    it('trims spaces around the URI and its entries', function () {
      expect(parseConnectionUri(' failover:( stomp://a:1 , stomp://b:2 ) ').endpoints).to.have.length(2);
    });
  });

  describe('nested.* and endpoint options', function () {
    it('applies nested.* options to every inner URI', function () {
      const parsed = parseConnectionUri(`${TWO}?nested.connectionTimeout=1500&nested.keepAlive=true&nested.tcpNoDelay=false`);
      for (const endpoint of parsed.endpoints) {
        expect(endpoint.options).to.include({ connectionTimeout: 1500, keepAlive: true, tcpNoDelay: false });
      }
    });

    it("lets an endpoint's own option win over nested.*", function () {
      const parsed = parseConnectionUri('failover:(stomp://a:1?connectionTimeout=99,stomp://b:2)?nested.connectionTimeout=1500');
      expect(parsed.endpoints.map((e) => e.options.connectionTimeout)).to.deep.equal([99, 1500]);
    });

    it('applies nested.verifyHostName only to TLS endpoints of a mixed list', function () {
      const parsed = parseConnectionUri('failover:(stomp://a:1,stomp+ssl://b:2,wss://c:3)?nested.verifyHostName=false');
      expect(parsed.endpoints.map((e) => e.options.verifyHostName)).to.deep.equal([true, false, false]);
    });
  });

  describe('bad URIs name the bad part', function () {
    const bad: Array<[string, string, string]> = [
      ['an empty URI', '  ', 'the URI is empty'],
      ['an unclosed list', 'failover:(stomp://a:1', "missing ')'"],
      ['junk after the list', 'failover:(stomp://a:1)x', "unexpected 'x' after the endpoint list"],
      ['an empty list', 'failover:()', 'endpoint 1 of the list is empty'],
      ['an empty entry', 'failover:(stomp://a:1,,stomp://b:2)', 'endpoint 2 of the list is empty'],
      ['not a URI', 'failover:(localhost:61613)', "endpoint 'localhost:61613' is not a URI like stomp://host:port"],
      ['an OpenWire scheme', 'failover:(tcp://a:61616)', "has scheme 'tcp'; use stomp://, stomp+ssl://, ws:// or wss://"],
      ['no host', 'failover:(stomp://:61613)', 'has no host'],
      ['no port', 'failover:(stomp://a)', 'has no port'],
      ['an empty port', 'failover:(stomp://a:)', 'has no port'],
      ['a port out of range', 'failover:(stomp://a:70000)', "has port '70000'"],
      ['a port of 0', 'stomp://a:0', "has port '0'"],
      ['a non-numeric port', 'failover:(stomp://a:http)', "has port 'http'"],
      ['a bad host', 'stomp://a_b$c:1', "invalid host 'a_b$c'"],
      ['an unclosed IPv6 address', 'stomp://[::1:1', "without its closing ']'"],
      ['a bad IPv6 address', 'stomp://[zz]:1', "invalid IPv6 address 'zz'"],
      ['credentials in the URI', 'stomp://user:pw@a:1', 'carries credentials'],
      ['a fragment', 'stomp://a:1#x', "has a fragment ('#')"],
      ['a path on a stomp endpoint', 'stomp://a:1/vhost', "has a path '/vhost'"],
      ['a repeated endpoint', 'failover:(stomp://a:1,STOMP://A:1)', "endpoint 'stomp://a:1' appears twice"],
      ['an unknown failover option', `${TWO}?reconnectDelay=5`, "unknown failover option 'reconnectDelay'; known options are randomize,"],
      ['an ActiveMQ option this client lacks', `${TWO}?backup=true`, "option 'backup' of ActiveMQ's failover transport is not supported"],
      ['trackMessages', `${TWO}?trackMessages=true`, "option 'trackMessages'"],
      ['an unknown nested option', `${TWO}?nested.wireFormat.maxInactivityDuration=0`, "unknown nested option 'nested.wireFormat.maxInactivityDuration'"],
      ['an unknown endpoint option', 'failover:(stomp://a:1?soTimeout=5)', "endpoint 'stomp://a:1?soTimeout=5' has unknown option 'soTimeout'"],
      ['verifyHostName on a plain endpoint', 'stomp://a:1?verifyHostName=false', "'verifyHostName' applies only to stomp+ssl:// and wss://"],
      ['an option without a value', `${TWO}?randomize`, "failover option 'randomize' has no value; write randomize=VALUE"],
      ['an option without a name', `${TWO}?=true`, "failover option '=true' has no name"],
      ['a repeated option', `${TWO}?timeout=5&timeout=6`, "failover option 'timeout' is given twice"],
      ['an empty option', `${TWO}?timeout=5&&randomize=false`, "an empty failover option ('&&' or a trailing '&')"],
      ['a bad %-escape', `${TWO}?priorityURIs=%zz`, "'priorityURIs=%zz' has a malformed %-escape"],
      ['a non-boolean', `${TWO}?randomize=yes`, "option 'randomize' must be true or false, not 'yes'"],
      ['a non-integer delay', `${TWO}?initialReconnectDelay=1.5`, "option 'initialReconnectDelay' must be an integer from 0 to 2147483647, not '1.5'"],
      ['a negative delay', `${TWO}?maxReconnectDelay=-1`, "option 'maxReconnectDelay' must be an integer from 0 to 2147483647, not '-1'"],
      ['attempts below -1', `${TWO}?maxReconnectAttempts=-2`, "option 'maxReconnectAttempts' must be an integer from -1"],
      ['startup attempts not a number', `${TWO}?startupMaxReconnectAttempts=x`, "option 'startupMaxReconnectAttempts' must be an integer from -1"],
      ['a zero timeout', `${TWO}?timeout=0`, "option 'timeout' must be -1 (wait forever) or a positive number of milliseconds, not '0'"],
      ['an exponent below 1', `${TWO}?reconnectDelayExponent=0.5`, "option 'reconnectDelayExponent' must be a number from 1 to 100, not '0.5'"],
      ['a non-numeric multiplier', `${TWO}?backOffMultiplier=two`, "option 'backOffMultiplier' must be a number from 1 to 100, not 'two'"],
      ['both exponent spellings', `${TWO}?reconnectDelayExponent=2&backOffMultiplier=3`, "either 'reconnectDelayExponent' or its alias 'backOffMultiplier', not both"],
      ['priorityURIs without priorityBackup', `${TWO}?priorityURIs=stomp://127.0.0.1:61613`, "'priorityURIs' has effect only with 'priorityBackup=true'"],
      ['a priority URI not in the list', `${TWO}?priorityBackup=true&priorityURIs=stomp://127.0.0.1:1`, "'priorityURIs' entry 'stomp://127.0.0.1:1' is not one of the endpoints"],
      ['an empty priority entry', `${TWO}?priorityBackup=true&priorityURIs=stomp://127.0.0.1:61613,`, "'priorityURIs' has an empty entry"],
      ['a bad nested value', `${TWO}?nested.connectionTimeout=soon`, "option 'nested.connectionTimeout' must be an integer from 0"],
    ];
    for (const [what, uri, fragment] of bad) {
      it(`refuses ${what}: ${uri.trim() === '' ? '(blank)' : uri}`, function () {
        rejects(uri, fragment);
      });
    }
  });
});
