// A short JMeter run for the external-evidence corpus (scripts/evidence_corpus.sh), with the test plan built in code
// through JMeter's API: Debian's JMeter 2.13 cannot load a .jmx file (its XStream refuses JMeter's own classes).
// Run with Java's source launcher, JMeter's jars on the class path:
//
//   java -cp "<jmeter jars>" CorpusLoad.java PORT results.jtl
//
// Four threads fetch /index.html 60 times each and one thread fetches /missing.html (404) 23 times, from python's
// http.server on 127.0.0.1:PORT. The samples go to results.jtl as CSV with its header row. On stdout: JMeter's
// own summariser line ("summary = ... Err: N (P%)") and the figures of JMeter's Aggregate Report calculator
// (SamplingStatCalculator): the sample count, its 95% line and its error share.
import org.apache.jmeter.control.LoopController;
import org.apache.jmeter.engine.StandardJMeterEngine;
import org.apache.jmeter.protocol.http.sampler.HTTPSamplerProxy;
import org.apache.jmeter.reporters.ResultCollector;
import org.apache.jmeter.reporters.Summariser;
import org.apache.jmeter.samplers.SampleEvent;
import org.apache.jmeter.testelement.TestPlan;
import org.apache.jmeter.threads.ThreadGroup;
import org.apache.jmeter.util.JMeterUtils;
import org.apache.jmeter.visualizers.SamplingStatCalculator;
import org.apache.jorphan.collections.HashTree;

public class CorpusLoad {
    static final SamplingStatCalculator AGGREGATE = new SamplingStatCalculator("TOTAL");

    /** Writes the JTL like JMeter's -l option, and feeds every sample to the Aggregate Report calculator too. */
    static class Collector extends ResultCollector {
        Collector(Summariser summariser) {
            super(summariser);
        }

        @Override
        public void sampleOccurred(SampleEvent event) {
            super.sampleOccurred(event);
            synchronized (AGGREGATE) {
                AGGREGATE.addSample(event.getResult());
            }
        }
    }

    static HTTPSamplerProxy get(String name, int port, String path) {
        HTTPSamplerProxy sampler = new HTTPSamplerProxy("Java");
        sampler.setName(name);
        sampler.setDomain("127.0.0.1");
        sampler.setPort(port);
        sampler.setPath(path);
        sampler.setMethod("GET");
        return sampler;
    }

    static ThreadGroup group(String name, int threads, int loops) {
        LoopController loop = new LoopController();
        loop.setLoops(loops);
        loop.setFirst(true);
        loop.initialize();
        ThreadGroup group = new ThreadGroup();
        group.setName(name);
        group.setNumThreads(threads);
        group.setRampUp(1);
        group.setSamplerController(loop);
        return group;
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        JMeterUtils.setJMeterHome("/usr/share/jmeter");
        JMeterUtils.loadJMeterProperties("/usr/share/jmeter/bin/jmeter.properties");
        JMeterUtils.setProperty("jmeter.save.saveservice.output_format", "csv");
        JMeterUtils.setProperty("jmeter.save.saveservice.print_field_names", "true");
        JMeterUtils.initLogging();
        JMeterUtils.initLocale();

        HashTree tree = new HashTree();
        HashTree plan = tree.add(new TestPlan("corpus"));
        plan.add(group("pages", 4, 60)).add(get("index", port, "/index.html"));
        plan.add(group("missing", 1, 23)).add(get("missing", port, "/missing.html"));
        Collector collector = new Collector(new Summariser("summary"));
        collector.setFilename(args[1]);
        plan.add(collector);

        StandardJMeterEngine engine = new StandardJMeterEngine();
        engine.configure(tree);
        engine.run();
        System.out.println("aggregate report: samples=" + AGGREGATE.getCount()
            + " 95% line=" + AGGREGATE.getPercentPoint(0.95)
            + " error share=" + AGGREGATE.getErrorPercentage());
        System.exit(0);
    }
}
